//! Feedback owed to exchanges: an organisation's confirmation or dispute of an item that one
//! of its exchanges brought, kept until the exchange has it (an outbox), the same SQL in both
//! backends (`feedback_methods!()` inside each `impl Store`, `feedback_helpers!` beside it).
//!
//! [`crate::Store::set_opinion`] owes feedback in the transaction that records the opinion,
//! and only when the opinion changes: an item said again to be confirmed owes nothing more.
//! Only the opinions of the organisation whose exchange it is are owed (its credentials
//! speak for it, not for the organisations it shares the bank with), only for items the
//! exchange keyed (an external id), and a withdrawn opinion owes nothing (no exchange takes
//! a withdrawal) but supersedes feedback not yet sent, as a new opinion does.
//!
//! A sender claims due rows for a while ([`crate::Store::claim_feedback`]: one node at a
//! time sends each), records each part the exchange accepted as it goes
//! ([`crate::Store::feedback_part_done`]), and finishes the row
//! ([`crate::Store::finish_feedback`]): sent, refused for good, impossible to send, or
//! failed and due again later. Every finish is in the audit log, about the item.

use serde::Serialize;
use ward_core::named_values;

use crate::error::StoreError;
use crate::exchanges::ExchangeId;
use crate::model::{ContentId, OpinionKind, OrgId, Timestamp};

/// Where feedback stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedbackState {
    /// Not yet accepted: sent when due.
    Pending,
    /// The exchange accepted it.
    Sent,
    /// The exchange refused it for good (an entry it no longer has, a malformed request).
    Refused,
    /// It could not be sent: the type takes no feedback, or the item lacks what its form
    /// needs (a descriptor to react to).
    Unsent,
    /// A later opinion of the same organisation replaced it before it was sent.
    Superseded,
}

named_values!(FeedbackState, "feedback state", StoreError = StoreError::Invalid,
    Pending => "pending", Sent => "sent", Refused => "refused", Unsent => "unsent",
    Superseded => "superseded");

/// Feedback owed to an exchange, or given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Feedback {
    pub id: i64,
    pub exchange: ExchangeId,
    pub content: ContentId,
    /// The organisation whose opinion it is (the exchange's).
    pub org: OrgId,
    pub opinion: OpinionKind,
    pub state: FeedbackState,
    pub created_at: Timestamp,
    /// Attempts so far.
    pub tries: i64,
    /// When it is due (again), while pending.
    pub next_try_at: Timestamp,
    /// When it was sent, refused, found unsendable or superseded.
    pub done_at: Option<Timestamp>,
    /// The parts the exchange has accepted (fingerprint types, descriptor ids).
    pub parts_done: Vec<String>,
    /// Why the last attempt failed, or why it was refused or not sent.
    pub last_error: Option<String>,
}

/// How an attempt to send feedback ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedbackOutcome {
    Sent,
    /// Refused for good, and why.
    Refused(String),
    /// Cannot be sent, and why.
    Unsent(String),
    /// Failed (no answer, a 5xx, credentials refused): due again at `retry_at`.
    Failed {
        error: String,
        retry_at: Timestamp,
    },
}

impl FeedbackOutcome {
    pub fn name(&self) -> &'static str {
        match self {
            FeedbackOutcome::Sent => "sent",
            FeedbackOutcome::Refused(_) => "refused",
            FeedbackOutcome::Unsent(_) => "unsent",
            FeedbackOutcome::Failed { .. } => "failed",
        }
    }

    /// The state the row is left in.
    pub fn state(&self) -> FeedbackState {
        match self {
            FeedbackOutcome::Sent => FeedbackState::Sent,
            FeedbackOutcome::Refused(_) => FeedbackState::Refused,
            FeedbackOutcome::Unsent(_) => FeedbackState::Unsent,
            FeedbackOutcome::Failed { .. } => FeedbackState::Pending,
        }
    }

    pub fn error(&self) -> Option<&str> {
        match self {
            FeedbackOutcome::Sent => None,
            FeedbackOutcome::Refused(why) | FeedbackOutcome::Unsent(why) => Some(why),
            FeedbackOutcome::Failed { error, .. } => Some(error),
        }
    }
}

/// The longest reason kept with feedback (an exchange's error body is cut to it).
pub const MAX_FEEDBACK_ERROR: usize = 1000;
/// The longest part name kept.
pub const MAX_FEEDBACK_PART: usize = 200;

/// The columns a [`Feedback`] is read from, in `feedback_of_row`'s order.
pub(crate) const FEEDBACK_COLUMNS: &str = "id, exchange_id, content_id, org_id, opinion, state, \
     created_at, tries, next_try_at, done_at, parts_done, last_error";

/// `text` cut to at most `max` bytes, on a character boundary.
pub(crate) fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The methods, written once for both backends.
macro_rules! feedback_methods {
    () => {
        async fn claim_feedback(
            &self,
            now: Timestamp,
            until: Timestamp,
            limit: u32,
            only: Option<crate::exchanges::ExchangeId>,
        ) -> Result<Vec<crate::feedback::Feedback>> {
            let mut tx = self.write().await?;
            // The condition is said again in the UPDATE: under PostgreSQL's read committed,
            // a row another node claimed in the meantime is checked again and skipped.
            let rows = sqlx::query(AssertSqlSafe(format!(
                "UPDATE exchange_feedback SET claimed_until = $2 WHERE id IN \
                 (SELECT id FROM exchange_feedback WHERE state = 'pending' \
                  AND next_try_at <= $1 AND claimed_until <= $1 \
                  AND exchange_id = COALESCE($4, exchange_id) \
                  ORDER BY next_try_at, id LIMIT $3) \
                 AND state = 'pending' AND claimed_until <= $1 RETURNING {}",
                crate::feedback::FEEDBACK_COLUMNS
            )))
            .bind(now.0)
            .bind(until.0)
            .bind(i64::from(limit))
            .bind(only.map(|e| e.0))
            .fetch_all(&mut *tx)
            .await
            .map_err(database)?;
            tx.commit().await.map_err(database)?;
            let mut claimed = rows
                .iter()
                .map(feedback_of_row)
                .collect::<Result<Vec<_>>>()?;
            claimed.sort_by_key(|f| (f.next_try_at, f.id));
            Ok(claimed)
        }

        async fn feedback_part_done(&self, id: i64, part: &str) -> Result<()> {
            if part.is_empty() || part.len() > crate::feedback::MAX_FEEDBACK_PART || part.contains(',')
            {
                return Err(StoreError::Invalid(format!(
                    "a feedback part is 1 to {} bytes without a comma",
                    crate::feedback::MAX_FEEDBACK_PART
                )));
            }
            let mut tx = self.write().await?;
            let done: Option<String> =
                sqlx::query_scalar("SELECT parts_done FROM exchange_feedback WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(database)?;
            let done = done.ok_or_else(|| not_found("feedback", id))?;
            if done.split(',').any(|p| p == part) {
                return Ok(());
            }
            let parts = if done.is_empty() {
                part.to_owned()
            } else {
                format!("{done},{part}")
            };
            sqlx::query("UPDATE exchange_feedback SET parts_done = $2 WHERE id = $1")
                .bind(id)
                .bind(parts)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            tx.commit().await.map_err(database)?;
            Ok(())
        }

        async fn finish_feedback(
            &self,
            actor: &Actor,
            id: i64,
            outcome: &crate::feedback::FeedbackOutcome,
        ) -> Result<()> {
            use crate::feedback::FeedbackOutcome;
            let now = Timestamp::now();
            let mut tx = self.write().await?;
            let error = outcome
                .error()
                .map(|e| crate::feedback::cut(e, crate::feedback::MAX_FEEDBACK_ERROR));
            let (retry_at, done_at) = match outcome {
                FeedbackOutcome::Failed { retry_at, .. } => (retry_at.0, None),
                _ => (now.0, Some(now.0)),
            };
            // Feedback superseded while it was on its way was still given: it says so.
            let row = sqlx::query(AssertSqlSafe(format!(
                "UPDATE exchange_feedback SET state = $2, tries = tries + 1, next_try_at = $3, \
                 done_at = $4, last_error = $5, claimed_until = 0 WHERE id = $1 \
                 AND (state = 'pending' OR ($2 = 'sent' AND state = 'superseded')) RETURNING {}",
                crate::feedback::FEEDBACK_COLUMNS
            )))
            .bind(id)
            .bind(outcome.state().name())
            .bind(retry_at)
            .bind(done_at)
            .bind(error)
            .fetch_optional(&mut *tx)
            .await
            .map_err(database)?;
            let Some(row) = row else {
                return Err(StoreError::Conflict(format!(
                    "feedback {id} is no longer pending"
                )));
            };
            let feedback = feedback_of_row(&row)?;
            log(&mut tx, actor, now, Event::exchange_feedback(&feedback, outcome)).await?;
            tx.commit().await.map_err(database)?;
            Ok(())
        }

        async fn content_feedback(
            &self,
            content: ContentId,
        ) -> Result<Vec<crate::feedback::Feedback>> {
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT {} FROM exchange_feedback WHERE content_id = $1 ORDER BY id",
                crate::feedback::FEEDBACK_COLUMNS
            )))
            .bind(content.0)
            .fetch_all(self.reads())
            .await
            .map_err(database)?;
            rows.iter().map(feedback_of_row).collect()
        }
    };
}
pub(crate) use feedback_methods;

/// Functions the feedback methods and `set_opinion` share, defined in each backend's module
/// (`feedback_helpers!(Connection, Row)`).
macro_rules! feedback_helpers {
    ($conn:ty, $row:ty) => {
        /// Feedback from a row of [`crate::feedback::FEEDBACK_COLUMNS`].
        fn feedback_of_row(row: &$row) -> Result<crate::feedback::Feedback> {
            use sqlx::Row as _;
            let get = |e: sqlx::Error| database(e);
            let opinion: String = row.try_get(4).map_err(get)?;
            let state: String = row.try_get(5).map_err(get)?;
            let parts: String = row.try_get(10).map_err(get)?;
            Ok(crate::feedback::Feedback {
                id: row.try_get(0).map_err(get)?,
                exchange: crate::exchanges::ExchangeId(row.try_get(1).map_err(get)?),
                content: ContentId(row.try_get(2).map_err(get)?),
                org: OrgId(row.try_get(3).map_err(get)?),
                opinion: opinion.parse()?,
                state: state.parse()?,
                created_at: Timestamp(row.try_get(6).map_err(get)?),
                tries: row.try_get(7).map_err(get)?,
                next_try_at: Timestamp(row.try_get(8).map_err(get)?),
                done_at: row
                    .try_get::<Option<i64>, _>(9)
                    .map_err(get)?
                    .map(Timestamp),
                parts_done: parts
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect(),
                last_error: row.try_get(11).map_err(get)?,
            })
        }

        /// Owes `org`'s changed opinion of `content` (`None`: withdrawn) to the exchange that
        /// brought the item, if the item came from one of `org`'s exchanges: supersedes what
        /// is still owed for it, and owes the new opinion.
        async fn owe_feedback(
            conn: &mut $conn,
            content: ContentId,
            org: OrgId,
            opinion: Option<OpinionKind>,
            now: Timestamp,
        ) -> Result<()> {
            let exchange: Option<i64> = sqlx::query_scalar(
                "SELECT e.id FROM content c JOIN exchanges e ON e.bank_id = c.bank_id \
                 JOIN banks b ON b.id = c.bank_id \
                 WHERE c.id = $1 AND b.org_id = $2 AND c.external_id IS NOT NULL",
            )
            .bind(content.0)
            .bind(org.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(database)?;
            let Some(exchange) = exchange else {
                return Ok(());
            };
            sqlx::query(
                "UPDATE exchange_feedback SET state = 'superseded', done_at = $3 \
                 WHERE content_id = $1 AND org_id = $2 AND state = 'pending'",
            )
            .bind(content.0)
            .bind(org.0)
            .bind(now.0)
            .execute(&mut *conn)
            .await
            .map_err(database)?;
            if let Some(kind) = opinion {
                sqlx::query(
                    "INSERT INTO exchange_feedback \
                     (exchange_id, content_id, org_id, opinion, created_at, next_try_at) \
                     VALUES ($1, $2, $3, $4, $5, $5)",
                )
                .bind(exchange)
                .bind(content.0)
                .bind(org.0)
                .bind(kind.name())
                .bind(now.0)
                .execute(&mut *conn)
                .await
                .map_err(database)?;
            }
            Ok(())
        }
    };
}
pub(crate) use feedback_helpers;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_cut_on_character_boundaries() {
        for (text, max, kept) in [
            ("abc", 10, "abc"),
            ("abc", 2, "ab"),
            ("é", 1, ""),
            ("aé", 2, "a"),
        ] {
            assert_eq!(cut(text, max), kept);
        }
    }

    #[test]
    fn outcomes_leave_their_state() {
        let failed = FeedbackOutcome::Failed {
            error: "HTTP 503".into(),
            retry_at: Timestamp(1),
        };
        assert_eq!(failed.state(), FeedbackState::Pending);
        assert_eq!(failed.error(), Some("HTTP 503"));
        assert_eq!(FeedbackOutcome::Sent.state(), FeedbackState::Sent);
        assert_eq!(FeedbackOutcome::Sent.error(), None);
        assert_eq!(
            FeedbackOutcome::Refused("gone".into()).state(),
            FeedbackState::Refused
        );
        assert_eq!(
            FeedbackOutcome::Unsent("no form".into()).state(),
            FeedbackState::Unsent
        );
    }
}
