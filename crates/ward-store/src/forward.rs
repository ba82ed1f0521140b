//! Reports that cross borders: a URL assessed as abuse here and hosted in a country that a
//! partner hotline covers is forwarded to that partner, which works it (its own assessment,
//! notices and re-checks) and tells this hotline how it went.
//!
//! A forwarding partner is a `ward` exchange (its key pinned) with the countries it covers
//! ([`ForwardingPartner`]). Both directions of a forward are a row of `url_forwards`
//! ([`UrlForward`]): `out` on the origin, `in` on the partner, which knows it by the origin's
//! id (`remote_id`). Everything one hotline tells another is a [`ForwardMessage`] addressed
//! to it in `forward_events`, in the order written (PostgreSQL writers of one addressee's
//! messages take its partner row first, so sequence numbers become visible in order), read
//! by the addressee through the signed forwarding feed and applied with the cursor after it
//! in one transaction ([`crate::Store::apply_forwarding_page`]): a reader stopped anywhere
//! resumes with nothing lost or applied twice, and a message that names a forward the
//! reader does not hold is skipped and counted.
//!
//! What a forward carries: the URL, the origin's assessment (the facts and each scheme's
//! label), the hashes of what it served, when it was first reported and assessed, and the
//! origin's reference (the URL's id there); never the reporter's e-mail or words.
//!
//! The origin stops noticing the host while a partner has the report (`sent`, `received`,
//! `assessed`, `noticed`): it takes it back when the partner declines, disagrees (assesses
//! it as nothing to act on), or does not acknowledge within the partner's time
//! (`timed_out`, and the partner is sent a recall). The methods are written once for both
//! backends (`forward_methods!()` inside each `impl Store`, `forward_helpers!` beside it).

use serde::{Deserialize, Serialize};
use ward_core::categories::{Activity, AgeGroup, Assessment};

use crate::error::{Result, StoreError};
use crate::exchanges::ExchangeId;
use crate::model::{Timestamp, UrlId};
use crate::rules;

/// The most countries one partner covers.
pub const FORWARD_COUNTRIES_MAX: usize = 64;

/// The most messages a forwarding page holds.
pub const FORWARD_PAGE_MAX: u32 = 500;

/// The most signals a forward carries (a video's digests and vPDQ, a picture's PDQ).
pub const FORWARD_SIGNALS_MAX: usize = 16;

/// The longest signal value a forward carries (a vPDQ of a long video is refused; its
/// digests travel).
pub const FORWARD_SIGNAL_MAX: usize = 64 * 1024;

/// The longest time a partner is given to acknowledge a forward: 30 days.
pub const ACK_TIMEOUT_MAX_MS: i64 = 30 * 86_400_000;

/// The default time a partner is given to acknowledge: three days.
pub const ACK_TIMEOUT_DEFAULT_MS: i64 = 3 * 86_400_000;

/// A partner hotline that reports are forwarded to and received from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ForwardingPartner {
    pub exchange: ExchangeId,
    /// The exchange's name.
    pub name: String,
    /// ISO 3166-1 alpha-2 codes, upper case, sorted: where it handles hosted content.
    pub countries: Vec<String>,
    /// Whether reports are forwarded to it and its forwarding feed read.
    pub enabled: bool,
    /// How long it has to acknowledge a forward before the report comes back.
    pub ack_timeout_ms: i64,
    /// Where its forwarding feed was read to.
    pub cursor: String,
    pub pulled_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub updated_at: Timestamp,
}

/// What is set of a forwarding partner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewForwardingPartner {
    pub countries: Vec<String>,
    pub enabled: bool,
    pub ack_timeout_ms: i64,
}

/// Which way a forward went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardDirection {
    /// This hotline forwarded it to the partner.
    Out,
    /// The partner forwarded it here.
    In,
}

ward_core::named_values!(ForwardDirection, "forward direction", StoreError = StoreError::Invalid, Out => "out", In => "in");

/// Where a forward stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardState {
    /// Forwarded, not acknowledged yet (out only).
    Sent,
    /// Acknowledged: in the partner's queue.
    Received,
    /// The partner (in: this hotline) assessed it as abuse.
    Assessed,
    /// The host has been sent a notice.
    Noticed,
    /// The URL no longer serves it.
    Removed,
    /// The partner (in: this hotline) declined it; the origin has it back.
    Declined,
    /// The partner (in: this hotline) found nothing to act on; the origin has it back.
    Disagreed,
    /// Not acknowledged in time; the origin took it back (out only).
    TimedOut,
    /// This hotline stopped forwarding to the partner (removed it, or deleted its
    /// exchange) while the partner had it: the report is back here (out only).
    Withdrawn,
    /// The origin took it back (in only: the out side is `timed_out`).
    Recalled,
}

ward_core::named_values!(ForwardState, "forward state", StoreError = StoreError::Invalid,
    Sent => "sent", Received => "received", Assessed => "assessed", Noticed => "noticed",
    Removed => "removed", Declined => "declined", Disagreed => "disagreed",
    TimedOut => "timed_out", Withdrawn => "withdrawn", Recalled => "recalled");

impl ForwardState {
    /// Whether the partner still has the report (the origin does not notice the host).
    pub fn with_partner(self) -> bool {
        matches!(
            self,
            ForwardState::Sent
                | ForwardState::Received
                | ForwardState::Assessed
                | ForwardState::Noticed
        )
    }
}

/// An assessment as forwards carry it: the facts, and the label each scheme derives from
/// them (for the reader's information; the facts are what is kept).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardAssessment {
    pub age_group: String,
    pub activity: String,
    /// The UK scheme's category (A, B, C).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uk: Option<String>,
    /// The industry classification (A1, A2, B1, B2), when it has one for the facts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
}

impl ForwardAssessment {
    pub fn of(assessment: Assessment) -> ForwardAssessment {
        ForwardAssessment {
            age_group: assessment.age_group.name().to_owned(),
            activity: assessment.activity.name().to_owned(),
            uk: Some(assessment.uk().name().to_owned()),
            industry: assessment.industry().map(|c| c.name().to_owned()),
        }
    }

    /// The facts, if they are ones Ward knows.
    pub fn assessment(&self) -> Option<Assessment> {
        Some(Assessment {
            age_group: self.age_group.parse::<AgeGroup>().ok()?,
            activity: self.activity.parse::<Activity>().ok()?,
        })
    }
}

/// A signal as forwards carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardSignal {
    pub signal_type: String,
    pub signal: String,
}

/// What the origin said of a URL it forwarded: kept with the partner's `in` forward and
/// shown to its analysts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardOrigin {
    /// The origin's reference (its id of the URL).
    pub reference: String,
    pub assessment: Option<ForwardAssessment>,
    /// `analyst`, or `hash` (a bank of the origin's knew it).
    pub assessed_by: String,
    pub signals: Vec<ForwardSignal>,
    pub sha256: Option<String>,
    pub media_type: Option<String>,
    pub first_reported_at: Timestamp,
    pub assessed_at: Option<Timestamp>,
}

/// What one hotline tells another about a forward. `forward` is always the origin's id of
/// it (the `out` row's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ForwardMessage {
    /// Origin to partner: a URL hosted in a country the partner covers.
    Forward {
        forward: i64,
        url: String,
        country: String,
        origin: ForwardOrigin,
    },
    /// Origin to partner: the origin took the report back (not acknowledged in time).
    Recall { forward: i64, at: Timestamp },
    /// Partner to origin: in its queue.
    Received { forward: i64, at: Timestamp },
    /// Partner to origin: its assessment (none: nothing to act on, with its note).
    Assessed {
        forward: i64,
        at: Timestamp,
        assessment: Option<ForwardAssessment>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Partner to origin: the host was first sent a notice.
    Noticed { forward: i64, at: Timestamp },
    /// Partner to origin: the URL no longer serves the content.
    Removed { forward: i64, at: Timestamp },
    /// Partner to origin: it will not take the report, and why.
    Declined {
        forward: i64,
        at: Timestamp,
        reason: String,
    },
}

impl ForwardMessage {
    /// The origin's id of the forward the message is about.
    pub fn forward(&self) -> i64 {
        match self {
            ForwardMessage::Forward { forward, .. }
            | ForwardMessage::Recall { forward, .. }
            | ForwardMessage::Received { forward, .. }
            | ForwardMessage::Assessed { forward, .. }
            | ForwardMessage::Noticed { forward, .. }
            | ForwardMessage::Removed { forward, .. }
            | ForwardMessage::Declined { forward, .. } => *forward,
        }
    }

    /// The message's name (the audit log's and the feed's `kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            ForwardMessage::Forward { .. } => "forward",
            ForwardMessage::Recall { .. } => "recall",
            ForwardMessage::Received { .. } => "received",
            ForwardMessage::Assessed { .. } => "assessed",
            ForwardMessage::Noticed { .. } => "noticed",
            ForwardMessage::Removed { .. } => "removed",
            ForwardMessage::Declined { .. } => "declined",
        }
    }

    /// Checks what a partner sent before any of it is kept: the URL an http(s) URL within
    /// [`rules::URL_MAX`], a two-letter country, at most [`FORWARD_SIGNALS_MAX`] signals of
    /// at most [`FORWARD_SIGNAL_MAX`] bytes, the texts within their bounds.
    pub fn check(&self) -> Result<()> {
        let invalid = |what: String| Err(StoreError::Invalid(what));
        match self {
            ForwardMessage::Forward {
                url,
                country,
                origin,
                ..
            } => {
                if url.len() > rules::URL_MAX || crate::report::host_of(url).is_none() {
                    return invalid("the forward's URL is not an http(s) URL within bounds".into());
                }
                check_country(country)?;
                rules::length("the origin's reference", &origin.reference, 64)?;
                rules::length("who assessed it", &origin.assessed_by, 16)?;
                if origin.signals.len() > FORWARD_SIGNALS_MAX {
                    return invalid(format!(
                        "a forward carries at most {FORWARD_SIGNALS_MAX} signals"
                    ));
                }
                for signal in &origin.signals {
                    rules::length("a signal type", &signal.signal_type, 16)?;
                    if signal.signal.len() > FORWARD_SIGNAL_MAX {
                        return invalid("a forwarded signal is too long".into());
                    }
                }
                for text in [&origin.sha256, &origin.media_type].into_iter().flatten() {
                    rules::length("a forwarded field", text, 200)?;
                }
                if let Some(assessment) = &origin.assessment {
                    check_assessment(assessment)?;
                }
                Ok(())
            }
            ForwardMessage::Assessed {
                assessment, note, ..
            } => {
                if let Some(assessment) = assessment {
                    check_assessment(assessment)?;
                }
                if let Some(note) = note {
                    rules::note(note)?;
                }
                Ok(())
            }
            ForwardMessage::Declined { reason, .. } => rules::note(reason).map(|_| ()),
            ForwardMessage::Recall { .. }
            | ForwardMessage::Received { .. }
            | ForwardMessage::Noticed { .. }
            | ForwardMessage::Removed { .. } => Ok(()),
        }
    }
}

fn check_assessment(assessment: &ForwardAssessment) -> Result<()> {
    for (what, text) in [
        ("an age group", &assessment.age_group),
        ("an activity", &assessment.activity),
    ] {
        rules::length(what, text, 32)?;
    }
    for text in [&assessment.uk, &assessment.industry].into_iter().flatten() {
        rules::length("a category", text, 16)?;
    }
    Ok(())
}

/// A forward, either way, as the analysts' pages and the API show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UrlForward {
    pub id: i64,
    pub url: UrlId,
    pub url_text: String,
    /// The partner: the origin of an `in` forward, the receiver of an `out` one.
    pub exchange: ExchangeId,
    pub partner: String,
    pub direction: ForwardDirection,
    /// The origin's id of an `in` forward.
    pub remote_id: Option<i64>,
    pub state: ForwardState,
    /// The hosting country it was forwarded for.
    pub country: String,
    /// What the origin said (`in`).
    pub origin: Option<ForwardOrigin>,
    pub created_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    /// The partner's assessment (`out`; an `in` forward's is the URL's own).
    pub assessment: Option<ForwardAssessment>,
    pub assessed_at: Option<Timestamp>,
    pub noticed_at: Option<Timestamp>,
    pub removed_at: Option<Timestamp>,
    /// When the report went back to the origin (declined, disagreed, timed out, recalled).
    pub returned_at: Option<Timestamp>,
    /// Why (a decline's reason, a disagreement's note).
    pub reason: Option<String>,
}

/// What applying a page of a partner's forwarding feed did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ForwardingApplied {
    pub applied: u32,
    /// Messages about a forward this hotline does not hold with that partner, or that break
    /// the bounds: skipped.
    pub skipped: u32,
}

/// A country code as kept: two ASCII letters, upper case.
pub fn country(text: &str) -> Result<String> {
    let code = text.trim().to_ascii_uppercase();
    check_country(&code)?;
    Ok(code)
}

fn check_country(code: &str) -> Result<()> {
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "not a country code (two letters): {:?}",
            code.chars().take(8).collect::<String>()
        )))
    }
}

/// A partner's settings checked, with its countries as kept (upper case, sorted, each
/// once) joined by commas.
pub(crate) fn check_partner(partner: &NewForwardingPartner) -> Result<String> {
    let mut countries = partner
        .countries
        .iter()
        .map(|c| country(c))
        .collect::<Result<Vec<_>>>()?;
    countries.sort();
    countries.dedup();
    if countries.len() > FORWARD_COUNTRIES_MAX {
        return Err(StoreError::Invalid(format!(
            "a partner covers at most {FORWARD_COUNTRIES_MAX} countries"
        )));
    }
    if !(1_000..=ACK_TIMEOUT_MAX_MS).contains(&partner.ack_timeout_ms) {
        return Err(StoreError::Invalid(
            "the time to acknowledge is a second to 30 days".into(),
        ));
    }
    Ok(countries.join(","))
}

/// A forwarding partner's columns, in [`PartnerRow`]'s order.
pub(crate) const SELECT_PARTNERS: &str = "SELECT p.exchange_id, b.name, p.countries, p.enabled, \
     p.ack_timeout_ms, p.cursor, p.pulled_at, p.last_error, p.updated_at \
     FROM forwarding_partners p JOIN exchanges e ON e.id = p.exchange_id \
     JOIN banks b ON b.id = e.bank_id";

pub(crate) type PartnerRow = (
    i64,
    String,
    String,
    bool,
    i64,
    String,
    Option<i64>,
    Option<String>,
    i64,
);

pub(crate) fn partner(row: PartnerRow) -> ForwardingPartner {
    let (exchange, name, countries, enabled, ack_timeout_ms, cursor, pulled_at, last_error, at) =
        row;
    ForwardingPartner {
        exchange: ExchangeId(exchange),
        name,
        countries: countries
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        enabled,
        ack_timeout_ms,
        cursor,
        pulled_at: pulled_at.map(Timestamp),
        last_error,
        updated_at: Timestamp(at),
    }
}

/// A forward's columns, in [`ForwardRow`]'s order (the partner's name and the URL joined;
/// sqlx reads at most 16 columns into a tuple, so the times come as a second row).
pub(crate) const SELECT_FORWARDS: &str = "SELECT f.id, f.url_id, u.url, f.exchange_id, \
     COALESCE(b.name, ''), f.direction, f.remote_id, f.state, f.country, f.origin, \
     f.created_at, f.assessment, f.reason \
     FROM url_forwards f JOIN reported_urls u ON u.id = f.url_id \
     LEFT JOIN exchanges e ON e.id = f.exchange_id LEFT JOIN banks b ON b.id = e.bank_id";

pub(crate) type ForwardRow = (
    i64,
    i64,
    String,
    i64,
    String,
    String,
    Option<i64>,
    String,
    String,
    Option<String>,
    i64,
    Option<String>,
    Option<String>,
);

/// A forward's times: acknowledged, assessed, noticed, removed, returned.
pub(crate) const SELECT_FORWARD_TIMES: &str = "SELECT acknowledged_at, assessed_at, noticed_at, \
     removed_at, returned_at FROM url_forwards WHERE id = $1";

pub(crate) type ForwardTimes = (
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

pub(crate) fn url_forward(row: ForwardRow, times: ForwardTimes) -> Result<UrlForward> {
    let (
        id,
        url,
        url_text,
        exchange,
        partner,
        direction,
        remote_id,
        state,
        country,
        origin,
        created_at,
        assessment,
        reason,
    ) = row;
    let damaged = |what: &str, e: serde_json::Error| StoreError::Damaged {
        file: None,
        detail: format!("forward {id}'s {what} does not read: {e}"),
    };
    let (acknowledged_at, assessed_at, noticed_at, removed_at, returned_at) = times;
    Ok(UrlForward {
        id,
        url: UrlId(url),
        url_text,
        exchange: ExchangeId(exchange),
        partner,
        direction: direction.parse()?,
        remote_id,
        state: state.parse()?,
        country,
        origin: origin
            .map(|o| serde_json::from_str(&o).map_err(|e| damaged("origin", e)))
            .transpose()?,
        created_at: Timestamp(created_at),
        acknowledged_at: acknowledged_at.map(Timestamp),
        assessment: assessment
            .map(|a| serde_json::from_str(&a).map_err(|e| damaged("assessment", e)))
            .transpose()?,
        assessed_at: assessed_at.map(Timestamp),
        noticed_at: noticed_at.map(Timestamp),
        removed_at: removed_at.map(Timestamp),
        returned_at: returned_at.map(Timestamp),
        reason,
    })
}

/// The hosting countries of a URL's `hosting` JSON (empty when unknown or unreadable).
pub(crate) fn hosting_countries(hosting: Option<&str>) -> Vec<String> {
    let places: Vec<crate::model::HostingPlace> = hosting
        .and_then(|h| serde_json::from_str(h).ok())
        .unwrap_or_default();
    let mut countries: Vec<String> = places.into_iter().filter_map(|p| p.country).collect();
    countries.sort();
    countries.dedup();
    countries
}

macro_rules! forward_methods {
    () => {
        async fn set_forwarding_partner(
            &self,
            actor: &Actor,
            exchange: crate::exchanges::ExchangeId,
            partner: &crate::forward::NewForwardingPartner,
        ) -> Result<crate::forward::ForwardingPartner> {
            let countries = crate::forward::check_partner(partner)?;
            let now = Timestamp::now();
            let mut tx = self.write().await?;
            let api: Option<String> = sqlx::query_scalar("SELECT api FROM exchanges WHERE id = $1")
                .bind(exchange.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(database)?;
            match api.as_deref() {
                None => return Err(not_found("exchange", exchange)),
                Some("ward") => {}
                Some(other) => {
                    return Err(StoreError::Invalid(format!(
                        "exchange {exchange} is of type {other}: forwarding partners are Ward \
                         hotlines (type ward)"
                    )));
                }
            }
            sqlx::query(
                "INSERT INTO forwarding_partners (exchange_id, countries, enabled, ack_timeout_ms, \
                 updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (exchange_id) DO UPDATE SET \
                 countries = excluded.countries, enabled = excluded.enabled, \
                 ack_timeout_ms = excluded.ack_timeout_ms, updated_at = excluded.updated_at",
            )
            .bind(exchange.0)
            .bind(&countries)
            .bind(partner.enabled)
            .bind(partner.ack_timeout_ms)
            .bind(now.0)
            .execute(&mut *tx)
            .await
            .map_err(database)?;
            log(
                &mut tx,
                actor,
                now,
                crate::audit::Event::forwarding_partner(exchange, Some(partner)),
            )
            .await?;
            let row: crate::forward::PartnerRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{} WHERE p.exchange_id = $1",
                crate::forward::SELECT_PARTNERS
            )))
            .bind(exchange.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(database)?;
            tx.commit().await.map_err(database)?;
            Ok(crate::forward::partner(row))
        }

        async fn remove_forwarding_partner(
            &self,
            actor: &Actor,
            exchange: crate::exchanges::ExchangeId,
        ) -> Result<()> {
            let now = Timestamp::now();
            let mut tx = self.write().await?;
            let removed = sqlx::query("DELETE FROM forwarding_partners WHERE exchange_id = $1")
                .bind(exchange.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            if removed.rows_affected() == 0 {
                return Err(not_found("forwarding partner", exchange));
            }
            withdraw_forwards(&mut tx, exchange, now).await?;
            log(
                &mut tx,
                actor,
                now,
                crate::audit::Event::forwarding_partner(exchange, None),
            )
            .await?;
            tx.commit().await.map_err(database)?;
            Ok(())
        }

        async fn forwarding_partners(&self) -> Result<Vec<crate::forward::ForwardingPartner>> {
            let rows: Vec<crate::forward::PartnerRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{} ORDER BY b.name, p.exchange_id",
                crate::forward::SELECT_PARTNERS
            )))
            .fetch_all(self.reads())
            .await
            .map_err(database)?;
            Ok(rows.into_iter().map(crate::forward::partner).collect())
        }

        async fn forwarding_page(
            &self,
            exchange: crate::exchanges::ExchangeId,
            after: i64,
            limit: u32,
        ) -> Result<Vec<(i64, crate::forward::ForwardMessage)>> {
            let limit = limit.clamp(1, crate::forward::FORWARD_PAGE_MAX);
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT seq, body FROM forward_events WHERE exchange_id = $1 AND seq > $2 \
                 ORDER BY seq LIMIT $3",
            )
            .bind(exchange.0)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(self.reads())
            .await
            .map_err(database)?;
            rows.into_iter()
                .map(|(seq, body)| {
                    serde_json::from_str(&body).map(|m| (seq, m)).map_err(|e| {
                        StoreError::Damaged { file: None, detail: format!("forwarding message {seq} does not read: {e}") }
                    })
                })
                .collect()
        }

        async fn apply_forwarding_page(
            &self,
            actor: &Actor,
            exchange: crate::exchanges::ExchangeId,
            after: &str,
            messages: &[crate::forward::ForwardMessage],
            cursor: &str,
        ) -> Result<crate::forward::ForwardingApplied> {
            rules::length("a forwarding cursor", cursor, 64)?;
            let now = Timestamp::now();
            let mut tx = self.write().await?;
            // The page must follow what was applied: a page applied already (a replay, or
            // another node's pull) changes nothing. The partner's row is locked first
            // (PostgreSQL), so that of two nodes applying the same page, the second waits
            // and then finds the cursor moved.
            sqlx::query("UPDATE forwarding_partners SET cursor = cursor WHERE exchange_id = $1")
                .bind(exchange.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            let held: Option<String> = sqlx::query_scalar(
                "SELECT cursor FROM forwarding_partners WHERE exchange_id = $1",
            )
            .bind(exchange.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(database)?;
            let held = held.ok_or_else(|| not_found("forwarding partner", exchange))?;
            if held != after {
                return Err(StoreError::Conflict(format!(
                    "the page follows cursor {after:?}, but the partner's feed was read to {held:?}"
                )));
            }
            let mut applied = crate::forward::ForwardingApplied::default();
            for message in messages {
                let done = match message.check() {
                    Ok(()) => apply_forward_message(&mut tx, actor, exchange, message, now).await?,
                    Err(_) => false,
                };
                if done {
                    applied.applied += 1;
                } else {
                    applied.skipped += 1;
                }
            }
            sqlx::query(
                "UPDATE forwarding_partners SET cursor = $2, pulled_at = $3, last_error = NULL \
                 WHERE exchange_id = $1",
            )
            .bind(exchange.0)
            .bind(cursor)
            .bind(now.0)
            .execute(&mut *tx)
            .await
            .map_err(database)?;
            tx.commit().await.map_err(database)?;
            Ok(applied)
        }

        async fn record_forwarding_pull(
            &self,
            exchange: crate::exchanges::ExchangeId,
            error: Option<&str>,
        ) -> Result<()> {
            let error = error.map(|e| e.chars().take(rules::FETCH_ERROR_MAX).collect::<String>());
            let mut tx = self.write().await?;
            sqlx::query(
                "UPDATE forwarding_partners SET pulled_at = $2, last_error = $3 WHERE exchange_id = $1",
            )
            .bind(exchange.0)
            .bind(Timestamp::now().0)
            .bind(error)
            .execute(&mut *tx)
            .await
            .map_err(database)?;
            tx.commit().await.map_err(database)?;
            Ok(())
        }

        async fn url_forwards(&self, url: UrlId) -> Result<Vec<crate::forward::UrlForward>> {
            let mut tx = self.read().await?;
            let rows: Vec<crate::forward::ForwardRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{} WHERE f.url_id = $1 ORDER BY f.id",
                crate::forward::SELECT_FORWARDS
            )))
            .bind(url.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(database)?;
            forwards_of_rows(&mut tx, rows).await
        }

        async fn forwards(
            &self,
            direction: crate::forward::ForwardDirection,
            offset: u32,
            limit: u32,
        ) -> Result<Vec<crate::forward::UrlForward>> {
            let mut tx = self.read().await?;
            let rows: Vec<crate::forward::ForwardRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{} WHERE f.direction = $1 ORDER BY f.id DESC LIMIT $2 OFFSET $3",
                crate::forward::SELECT_FORWARDS
            )))
            .bind(direction.name())
            .bind(i64::from(limit.min(500)))
            .bind(i64::from(offset))
            .fetch_all(&mut *tx)
            .await
            .map_err(database)?;
            forwards_of_rows(&mut tx, rows).await
        }

        async fn decline_forward(
            &self,
            actor: &Actor,
            id: i64,
            reason: &str,
        ) -> Result<crate::forward::UrlForward> {
            let reason = rules::note(reason)?.to_owned();
            if reason.trim().is_empty() {
                return Err(StoreError::Invalid("a decline says why".into()));
            }
            let now = Timestamp::now();
            let mut tx = self.write().await?;
            let row: Option<(i64, i64, Option<i64>, String)> = sqlx::query_as(
                "SELECT url_id, exchange_id, remote_id, state FROM url_forwards \
                 WHERE id = $1 AND direction = 'in'",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(database)?;
            let (url, exchange, remote, state) =
                row.ok_or_else(|| not_found("forward received", id))?;
            let state: crate::forward::ForwardState = state.parse()?;
            use crate::forward::ForwardState as S;
            if !matches!(state, S::Received | S::Assessed) {
                return Err(StoreError::Conflict(format!(
                    "forward {id} is {}: only a forward not yet noticed may be declined",
                    state.name()
                )));
            }
            sqlx::query(
                "UPDATE url_forwards SET state = 'declined', returned_at = $2, reason = $3 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(now.0)
            .bind(&reason)
            .execute(&mut *tx)
            .await
            .map_err(database)?;
            add_forward_message(
                &mut tx,
                crate::exchanges::ExchangeId(exchange),
                &crate::forward::ForwardMessage::Declined {
                    forward: remote.unwrap_or_default(),
                    at: now,
                    reason: reason.clone(),
                },
                now,
            )
            .await?;
            // A URL that only forwards brought here leaves the queue when none is left.
            let (reports, open): (i64, i64) = sqlx::query_as(
                "SELECT u.reports, (SELECT COUNT(*) FROM url_forwards f WHERE f.url_id = u.id \
                 AND f.direction = 'in' AND f.state IN ('received', 'assessed', 'noticed')) \
                 FROM reported_urls u WHERE u.id = $1",
            )
            .bind(url)
            .fetch_one(&mut *tx)
            .await
            .map_err(database)?;
            if reports == 0 && open == 0 {
                sqlx::query(
                    "UPDATE reported_urls SET state = 'not_actionable', decision_note = $2, \
                     assessed_at = COALESCE(assessed_at, $3) \
                     WHERE id = $1 AND state IN ('received', 'unreachable', 'refused', 'queued')",
                )
                .bind(url)
                .bind(format!("forward declined: {reason}"))
                .bind(now.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            }
            log(
                &mut tx,
                actor,
                now,
                crate::audit::Event::forward("forward.decline", UrlId(url), id, serde_json::json!({ "reason": reason })),
            )
            .await?;
            let row: crate::forward::ForwardRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{} WHERE f.id = $1",
                crate::forward::SELECT_FORWARDS
            )))
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(database)?;
            let forward = forwards_of_rows(&mut tx, vec![row]).await?.pop();
            tx.commit().await.map_err(database)?;
            forward.ok_or_else(|| not_found("forward received", id))
        }

        async fn expire_forwards(&self, now: Timestamp) -> Result<u32> {
            let mut tx = self.write().await?;
            let due: Vec<(i64, i64, i64)> = sqlx::query_as(
                "SELECT f.id, f.url_id, f.exchange_id FROM url_forwards f \
                 JOIN forwarding_partners p ON p.exchange_id = f.exchange_id \
                 WHERE f.direction = 'out' AND f.state = 'sent' \
                 AND f.created_at + p.ack_timeout_ms <= $1 ORDER BY f.id LIMIT 1000",
            )
            .bind(now.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(database)?;
            let mut expired = 0;
            for (id, url, exchange) in due {
                let done = sqlx::query(
                    "UPDATE url_forwards SET state = 'timed_out', returned_at = $2, \
                     reason = 'not acknowledged in time' WHERE id = $1 AND state = 'sent'",
                )
                .bind(id)
                .bind(now.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
                if done.rows_affected() == 0 {
                    continue;
                }
                add_forward_message(
                    &mut tx,
                    crate::exchanges::ExchangeId(exchange),
                    &crate::forward::ForwardMessage::Recall { forward: id, at: now },
                    now,
                )
                .await?;
                log(
                    &mut tx,
                    &Actor::intake(),
                    now,
                    crate::audit::Event::forward("forward.timeout", UrlId(url), id, serde_json::json!({})),
                )
                .await?;
                expired += 1;
            }
            tx.commit().await.map_err(database)?;
            Ok(expired)
        }
    };
}
pub(crate) use forward_methods;

/// The helpers the methods and the hotline's workflow share, at a backend module's top
/// level (`forward_helpers!(Connection)`).
macro_rules! forward_helpers {
    ($conn:ty) => {
        /// Takes back every forward partner `exchange` still has (this hotline stops
        /// forwarding to it and reading from it: nothing more would come back), so that
        /// their hosts are noticed here; returns how many.
        async fn withdraw_forwards(
            conn: &mut $conn,
            exchange: crate::exchanges::ExchangeId,
            now: Timestamp,
        ) -> Result<u64> {
            let done = sqlx::query(
                "UPDATE url_forwards SET state = 'withdrawn', returned_at = $2, \
                 reason = 'this hotline stopped forwarding to the partner' \
                 WHERE exchange_id = $1 AND direction = 'out' \
                 AND state IN ('sent', 'received', 'assessed', 'noticed')",
            )
            .bind(exchange.0)
            .bind(now.0)
            .execute(&mut *conn)
            .await
            .map_err(database)?;
            Ok(done.rows_affected())
        }

        /// Adds `message` to what `exchange` reads next. On PostgreSQL the partner's row is
        /// locked first, so that one addressee's messages take their sequence numbers in the
        /// order they commit and a reader never passes one still being written.
        async fn add_forward_message(
            conn: &mut $conn,
            exchange: crate::exchanges::ExchangeId,
            message: &crate::forward::ForwardMessage,
            now: Timestamp,
        ) -> Result<()> {
            sqlx::query(
                "UPDATE forwarding_partners SET updated_at = updated_at WHERE exchange_id = $1",
            )
            .bind(exchange.0)
            .execute(&mut *conn)
            .await
            .map_err(database)?;
            let body = serde_json::to_string(message)
                .map_err(|e| StoreError::Invalid(format!("a forwarding message: {e}")))?;
            sqlx::query("INSERT INTO forward_events (exchange_id, at, body) VALUES ($1, $2, $3)")
                .bind(exchange.0)
                .bind(now.0)
                .bind(body)
                .execute(&mut *conn)
                .await
                .map_err(database)?;
            Ok(())
        }

        /// Forwards from rows, with their times.
        async fn forwards_of_rows(
            conn: &mut $conn,
            rows: Vec<crate::forward::ForwardRow>,
        ) -> Result<Vec<crate::forward::UrlForward>> {
            let mut forwards = Vec::with_capacity(rows.len());
            for row in rows {
                let times: crate::forward::ForwardTimes =
                    sqlx::query_as(crate::forward::SELECT_FORWARD_TIMES)
                        .bind(row.0)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(database)?;
                forwards.push(crate::forward::url_forward(row, times)?);
            }
            Ok(forwards)
        }

        /// Forwards a URL assessed as abuse to every enabled partner covering a country it
        /// is hosted in that it was not forwarded to before, unless a partner forwarded it
        /// here; returns how many forwards were made (none: this hotline notices it).
        async fn forward_if_covered(
            conn: &mut $conn,
            url: i64,
            partners: &[crate::forward::ForwardingPartner],
            now: Timestamp,
        ) -> Result<u32> {
            let (hosting, received): (Option<String>, i64) = sqlx::query_as(
                "SELECT u.hosting, (SELECT COUNT(*) FROM url_forwards f WHERE f.url_id = u.id \
                 AND f.direction = 'in') FROM reported_urls u WHERE u.id = $1",
            )
            .bind(url)
            .fetch_one(&mut *conn)
            .await
            .map_err(database)?;
            if received > 0 {
                return Ok(0);
            }
            let countries = crate::forward::hosting_countries(hosting.as_deref());
            let mut made = 0;
            for partner in partners.iter().filter(|p| p.enabled) {
                let Some(country) = countries.iter().find(|c| partner.countries.contains(c)) else {
                    continue;
                };
                let before: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM url_forwards WHERE url_id = $1 AND exchange_id = $2 \
                     AND direction = 'out'",
                )
                .bind(url)
                .bind(partner.exchange.0)
                .fetch_optional(&mut *conn)
                .await
                .map_err(database)?;
                if before.is_some() {
                    continue;
                }
                // Another node's round may have made it meanwhile (PostgreSQL): once.
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO url_forwards (url_id, exchange_id, direction, state, country, \
                     created_at) VALUES ($1, $2, 'out', 'sent', $3, $4) \
                     ON CONFLICT (url_id, exchange_id) WHERE direction = 'out' DO NOTHING \
                     RETURNING id",
                )
                .bind(url)
                .bind(partner.exchange.0)
                .bind(country)
                .bind(now.0)
                .fetch_optional(&mut *conn)
                .await
                .map_err(database)?;
                let Some(id) = id else {
                    made += 1;
                    continue;
                };
                let reported = reported_urls(&mut *conn, &[url])
                    .await?
                    .pop()
                    .ok_or_else(|| not_found("reported URL", url))?;
                let message = crate::forward::ForwardMessage::Forward {
                    forward: id,
                    url: reported.url.clone(),
                    country: country.clone(),
                    origin: crate::forward::ForwardOrigin {
                        reference: url.to_string(),
                        assessment: reported.assessment.map(crate::forward::ForwardAssessment::of),
                        assessed_by: if reported.assessed_by.is_some() { "analyst" } else { "hash" }
                            .to_owned(),
                        signals: reported
                            .signals
                            .iter()
                            .filter(|s| s.value.len() <= crate::forward::FORWARD_SIGNAL_MAX)
                            .take(crate::forward::FORWARD_SIGNALS_MAX)
                            .map(|s| crate::forward::ForwardSignal {
                                signal_type: s.kind.name().to_owned(),
                                signal: s.value.clone(),
                            })
                            .collect(),
                        sha256: reported.sha256.clone(),
                        media_type: reported.media_type.clone(),
                        first_reported_at: reported.first_reported_at,
                        assessed_at: reported.assessed_at,
                    },
                };
                add_forward_message(&mut *conn, partner.exchange, &message, now).await?;
                log(
                    &mut *conn,
                    &Actor::intake(),
                    now,
                    crate::audit::Event::forward(
                        "forward.send",
                        UrlId(url),
                        id,
                        serde_json::json!({ "partner": partner.name, "country": country }),
                    ),
                )
                .await?;
                made += 1;
            }
            Ok(made)
        }

        /// Tells every origin that forwarded `url` here and still has it with this hotline
        /// what became of it (`message` is made for each origin's forward id), and moves
        /// those forwards to `state` (`None`: as they are) with `at` set in `column`.
        async fn tell_origins(
            conn: &mut $conn,
            url: i64,
            state: Option<crate::forward::ForwardState>,
            column: Option<&'static str>,
            message: impl Fn(i64) -> crate::forward::ForwardMessage,
            now: Timestamp,
        ) -> Result<()> {
            let open: Vec<(i64, i64, i64)> = sqlx::query_as(
                "SELECT id, exchange_id, COALESCE(remote_id, 0) FROM url_forwards \
                 WHERE url_id = $1 AND direction = 'in' \
                 AND state IN ('received', 'assessed', 'noticed', 'disagreed') ORDER BY id",
            )
            .bind(url)
            .fetch_all(&mut *conn)
            .await
            .map_err(database)?;
            for (id, exchange, remote) in open {
                if let Some(state) = state {
                    sqlx::query(
                        "UPDATE url_forwards SET state = $2 WHERE id = $1 \
                         AND (state IN ('received', 'assessed', 'disagreed') \
                         OR $2 IN ('noticed', 'removed'))",
                    )
                        .bind(id)
                        .bind(state.name())
                        .execute(&mut *conn)
                        .await
                        .map_err(database)?;
                }
                if let Some(column) = column {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE url_forwards SET {column} = COALESCE({column}, $2) WHERE id = $1"
                    )))
                    .bind(id)
                    .bind(now.0)
                    .execute(&mut *conn)
                    .await
                    .map_err(database)?;
                }
                add_forward_message(
                    &mut *conn,
                    crate::exchanges::ExchangeId(exchange),
                    &message(remote),
                    now,
                )
                .await?;
            }
            Ok(())
        }

        /// Tells the origins of `url` an assessment made here: `Some` as abuse (they are
        /// told the facts), `None` as nothing to act on (with `note`).
        async fn tell_origins_assessed(
            conn: &mut $conn,
            url: i64,
            assessment: Option<ward_core::categories::Assessment>,
            note: Option<String>,
            now: Timestamp,
        ) -> Result<()> {
            use crate::forward::{ForwardAssessment, ForwardMessage, ForwardState};
            let state = if assessment.is_some() {
                ForwardState::Assessed
            } else {
                ForwardState::Disagreed
            };
            tell_origins(
                conn,
                url,
                Some(state),
                Some("assessed_at"),
                |forward| ForwardMessage::Assessed {
                    forward,
                    at: now,
                    assessment: assessment.map(ForwardAssessment::of),
                    note: note.clone(),
                },
                now,
            )
            .await
        }

        /// Applies one message from partner `exchange`; `false` when it names a forward this
        /// hotline does not hold with that partner (skipped).
        async fn apply_forward_message(
            conn: &mut $conn,
            actor: &Actor,
            exchange: crate::exchanges::ExchangeId,
            message: &crate::forward::ForwardMessage,
            now: Timestamp,
        ) -> Result<bool> {
            use crate::forward::ForwardMessage as M;
            if let M::Forward {
                forward,
                url,
                country,
                origin,
            } = message
            {
                return receive_forward(conn, actor, exchange, *forward, url, country, origin, now)
                    .await;
            }
            if let M::Recall { forward, .. } = message {
                let done = sqlx::query(
                    "UPDATE url_forwards SET state = 'recalled', returned_at = $3 \
                     WHERE direction = 'in' AND exchange_id = $1 AND remote_id = $2 \
                     AND state IN ('received', 'assessed', 'noticed', 'disagreed')",
                )
                .bind(exchange.0)
                .bind(forward)
                .bind(now.0)
                .execute(&mut *conn)
                .await
                .map_err(database)?;
                return Ok(done.rows_affected() > 0);
            }
            // The rest are a partner's news of a forward this hotline made.
            let held: Option<(i64, String)> = sqlx::query_as(
                "SELECT url_id, state FROM url_forwards WHERE id = $1 AND exchange_id = $2 \
                 AND direction = 'out'",
            )
            .bind(message.forward())
            .bind(exchange.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(database)?;
            let Some((url, state)) = held else {
                return Ok(false);
            };
            let state: crate::forward::ForwardState = state.parse()?;
            let id = message.forward();
            // Once the report came back (timed out, declined), only the news is kept.
            let returned = matches!(
                state,
                crate::forward::ForwardState::TimedOut
                    | crate::forward::ForwardState::Declined
                    | crate::forward::ForwardState::Disagreed
            );
            match message {
                M::Received { at, .. } => {
                    sqlx::query("UPDATE url_forwards SET acknowledged_at = COALESCE(acknowledged_at, $2), \
                         state = CASE WHEN state = 'sent' THEN 'received' ELSE state END WHERE id = $1")
                    .bind(id)
                    .bind(at.0)
                    .execute(&mut *conn)
                    .await
                    .map_err(database)?;
                }
                M::Assessed {
                    at,
                    assessment,
                    note,
                    ..
                } => {
                    let kept = assessment
                        .as_ref()
                        .map(|a| serde_json::to_string(a).unwrap_or_default());
                    let next = match (returned, assessment.is_some()) {
                        (true, _) => state.name(),
                        (false, true) => "assessed",
                        (false, false) => "disagreed",
                    };
                    sqlx::query("UPDATE url_forwards SET assessment = $2, assessed_at = $3, state = $4, \
                         reason = COALESCE($5, reason), \
                         acknowledged_at = COALESCE(acknowledged_at, $3), \
                         returned_at = CASE WHEN $4 = 'disagreed' THEN COALESCE(returned_at, $6) \
                         ELSE returned_at END WHERE id = $1")
                    .bind(id)
                    .bind(kept)
                    .bind(at.0)
                    .bind(next)
                    .bind(note.as_deref())
                    .bind(now.0)
                    .execute(&mut *conn)
                    .await
                    .map_err(database)?;
                }
                M::Noticed { at, .. } => {
                    sqlx::query("UPDATE url_forwards SET noticed_at = COALESCE(noticed_at, $2), \
                         acknowledged_at = COALESCE(acknowledged_at, $2), \
                         state = CASE WHEN state IN ('sent', 'received', 'assessed') THEN 'noticed' \
                         ELSE state END WHERE id = $1")
                    .bind(id)
                    .bind(at.0)
                    .execute(&mut *conn)
                    .await
                    .map_err(database)?;
                    if !returned {
                        // The host has been noticed (by the partner): this hotline's URL says so.
                        sqlx::query(
                            "UPDATE reported_urls SET state = 'noticed' \
                             WHERE id = $1 AND state IN ('assessed', 'known')",
                        )
                        .bind(url)
                        .execute(&mut *conn)
                        .await
                        .map_err(database)?;
                    }
                }
                M::Removed { at, .. } => {
                    sqlx::query("UPDATE url_forwards SET removed_at = COALESCE(removed_at, $2), \
                         state = CASE WHEN state IN ('sent', 'received', 'assessed', 'noticed') \
                         THEN 'removed' ELSE state END WHERE id = $1")
                    .bind(id)
                    .bind(at.0)
                    .execute(&mut *conn)
                    .await
                    .map_err(database)?;
                    // Gone is gone, whoever noticed the host.
                    sqlx::query(
                        "UPDATE reported_urls SET state = 'removed', removed_at = $2, \
                         next_check_at = NULL WHERE id = $1 \
                         AND state IN ('assessed', 'known', 'noticed')",
                    )
                    .bind(url)
                    .bind(at.0)
                    .execute(&mut *conn)
                    .await
                    .map_err(database)?;
                    sqlx::query(
                        "UPDATE notices SET closed_at = $2 WHERE url_id = $1 AND closed_at IS NULL",
                    )
                    .bind(url)
                    .bind(now.0)
                    .execute(&mut *conn)
                    .await
                    .map_err(database)?;
                }
                M::Declined { at, reason, .. } => {
                    sqlx::query("UPDATE url_forwards SET state = CASE WHEN state IN ('sent', 'received', \
                         'assessed') THEN 'declined' ELSE state END, reason = $2, \
                         returned_at = COALESCE(returned_at, $3), \
                         acknowledged_at = COALESCE(acknowledged_at, $3) WHERE id = $1")
                    .bind(id)
                    .bind(reason)
                    .bind(at.0)
                    .execute(&mut *conn)
                    .await
                    .map_err(database)?;
                }
                M::Forward { .. } | M::Recall { .. } => {}
            }
            log(
                &mut *conn,
                actor,
                now,
                crate::audit::Event::forward(
                    &format!("forward.{}", message.kind()),
                    UrlId(url),
                    id,
                    serde_json::json!({ "partner": exchange }),
                ),
            )
            .await?;
            Ok(true)
        }

        /// A partner's forward of `url`: the URL is kept once (a URL reported here too, or
        /// forwarded by several partners, is one URL) and taken in as any report is, and
        /// the origin is told it arrived, and what this hotline already knows of it.
        #[allow(clippy::too_many_arguments)]
        async fn receive_forward(
            conn: &mut $conn,
            actor: &Actor,
            exchange: crate::exchanges::ExchangeId,
            forward: i64,
            url: &str,
            country: &str,
            origin: &crate::forward::ForwardOrigin,
            now: Timestamp,
        ) -> Result<bool> {
            let before: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM url_forwards WHERE direction = 'in' AND exchange_id = $1 \
                 AND remote_id = $2",
            )
            .bind(exchange.0)
            .bind(forward)
            .fetch_optional(&mut *conn)
            .await
            .map_err(database)?;
            if before.is_some() {
                return Ok(false);
            }
            let host = crate::report::host_of(url)
                .ok_or_else(|| StoreError::Invalid("not an http(s) URL".into()))?;
            sqlx::query(
                "INSERT INTO reported_urls (url, host, state, reports, first_reported_at, \
                 last_reported_at) VALUES ($1, $2, 'received', 0, $3, $3) \
                 ON CONFLICT (url) DO NOTHING",
            )
            .bind(url)
            .bind(&host)
            .bind(now.0)
            .execute(&mut *conn)
            .await
            .map_err(database)?;
            let url_id: i64 = sqlx::query_scalar("SELECT id FROM reported_urls WHERE url = $1")
                .bind(url)
                .fetch_one(&mut *conn)
                .await
                .map_err(database)?;
            let origin_json = serde_json::to_string(origin)
                .map_err(|e| StoreError::Invalid(format!("a forward's origin: {e}")))?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO url_forwards (url_id, exchange_id, direction, remote_id, state, \
                 country, origin, created_at, acknowledged_at) \
                 VALUES ($1, $2, 'in', $3, 'received', $4, $5, $6, $6) RETURNING id",
            )
            .bind(url_id)
            .bind(exchange.0)
            .bind(forward)
            .bind(country)
            .bind(origin_json)
            .bind(now.0)
            .fetch_one(&mut *conn)
            .await
            .map_err(database)?;
            add_forward_message(
                &mut *conn,
                exchange,
                &crate::forward::ForwardMessage::Received { forward, at: now },
                now,
            )
            .await?;
            // What this hotline knows of the URL already (reported here before).
            let (state, assessed_at, note, removed_at): (String, Option<i64>, Option<String>, Option<i64>) =
                sqlx::query_as(
                    "SELECT state, assessed_at, decision_note, removed_at FROM reported_urls WHERE id = $1",
                )
                .bind(url_id)
                .fetch_one(&mut *conn)
                .await
                .map_err(database)?;
            let state: UrlState = state.parse()?;
            let reported = reported_urls(&mut *conn, &[url_id])
                .await?
                .pop()
                .ok_or_else(|| not_found("reported URL", url_id))?;
            let mut told = Vec::new();
            match state {
                UrlState::Assessed | UrlState::Known | UrlState::Noticed | UrlState::Removed => {
                    told.push(crate::forward::ForwardMessage::Assessed {
                        forward,
                        at: Timestamp(assessed_at.unwrap_or(now.0)),
                        assessment: reported.assessment.map(crate::forward::ForwardAssessment::of),
                        note: None,
                    });
                }
                UrlState::NotActionable => {
                    told.push(crate::forward::ForwardMessage::Assessed {
                        forward,
                        at: Timestamp(assessed_at.unwrap_or(now.0)),
                        assessment: None,
                        note,
                    });
                }
                _ => {}
            }
            let first_notice: Option<i64> = sqlx::query_scalar(
                "SELECT MIN(first_sent_at) FROM notices WHERE url_id = $1",
            )
            .bind(url_id)
            .fetch_one(&mut *conn)
            .await
            .map_err(database)?;
            if let Some(at) = first_notice {
                told.push(crate::forward::ForwardMessage::Noticed { forward, at: Timestamp(at) });
            }
            if let (UrlState::Removed, Some(at)) = (state, removed_at) {
                told.push(crate::forward::ForwardMessage::Removed { forward, at: Timestamp(at) });
            }
            for message in &told {
                let (next, column, at) = match message {
                    crate::forward::ForwardMessage::Assessed { assessment: Some(_), at, .. } => ("assessed", "assessed_at", *at),
                    crate::forward::ForwardMessage::Assessed { at, .. } => ("disagreed", "assessed_at", *at),
                    crate::forward::ForwardMessage::Noticed { at, .. } => ("noticed", "noticed_at", *at),
                    crate::forward::ForwardMessage::Removed { at, .. } => ("removed", "removed_at", *at),
                    _ => continue,
                };
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE url_forwards SET state = $2, {column} = $3 WHERE id = $1"
                )))
                .bind(id)
                .bind(next)
                .bind(at.0)
                .execute(&mut *conn)
                .await
                .map_err(database)?;
                add_forward_message(&mut *conn, exchange, message, now).await?;
            }
            log(
                &mut *conn,
                actor,
                now,
                crate::audit::Event::forward(
                    "forward.receive",
                    UrlId(url_id),
                    id,
                    serde_json::json!({ "partner": exchange, "origin_forward": forward, "country": country }),
                ),
            )
            .await?;
            Ok(true)
        }
    };
}
pub(crate) use forward_helpers;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partners_countries_are_checked_and_kept_upper_case_sorted_once() {
        let partner = |countries: &[&str], ms: i64| NewForwardingPartner {
            countries: countries.iter().map(|c| (*c).to_owned()).collect(),
            enabled: true,
            ack_timeout_ms: ms,
        };
        let cases: &[(&[&str], i64, Option<&str>)] = &[
            (&["nl", "BE", " be "], 86_400_000, Some("BE,NL")),
            (&[], 86_400_000, Some("")),
            (&["BEL"], 86_400_000, None),
            (&["1x"], 86_400_000, None),
            (&["be"], 0, None),
            (&["be"], ACK_TIMEOUT_MAX_MS + 1, None),
        ];
        for (countries, ms, kept) in cases {
            let got = check_partner(&partner(countries, *ms)).ok();
            assert_eq!(got.as_deref(), *kept, "{countries:?} {ms}");
        }
        let many: Vec<String> = (0..26 * 26)
            .map(|i| {
                format!(
                    "{}{}",
                    (b'A' + (i / 26) as u8) as char,
                    (b'A' + (i % 26) as u8) as char
                )
            })
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(check_partner(&partner(&many, 86_400_000)).is_err());
    }

    #[test]
    fn messages_read_back_as_written_and_are_checked() {
        let origin = ForwardOrigin {
            reference: "17".into(),
            assessment: Some(ForwardAssessment::of(Assessment {
                age_group: AgeGroup::Prepubescent,
                activity: Activity::Penetrative,
            })),
            assessed_by: "analyst".into(),
            signals: vec![ForwardSignal {
                signal_type: "pdq".into(),
                signal: "f".repeat(64),
            }],
            sha256: Some("a".repeat(64)),
            media_type: Some("image/jpeg".into()),
            first_reported_at: Timestamp(1),
            assessed_at: Some(Timestamp(2)),
        };
        let good = ForwardMessage::Forward {
            forward: 3,
            url: "https://host.example/a.jpg".into(),
            country: "BE".into(),
            origin: origin.clone(),
        };
        let text = serde_json::to_string(&good).unwrap();
        assert!(text.contains("\"kind\":\"forward\""), "{text}");
        assert_eq!(serde_json::from_str::<ForwardMessage>(&text).unwrap(), good);
        assert!(good.check().is_ok());
        let bad = [
            ForwardMessage::Forward {
                forward: 3,
                url: "ftp://host/".into(),
                country: "BE".into(),
                origin: origin.clone(),
            },
            ForwardMessage::Forward {
                forward: 3,
                url: format!("https://h/{}", "x".repeat(rules::URL_MAX)),
                country: "BE".into(),
                origin: origin.clone(),
            },
            ForwardMessage::Forward {
                forward: 3,
                url: "https://h/".into(),
                country: "Belgium".into(),
                origin: origin.clone(),
            },
            ForwardMessage::Forward {
                forward: 3,
                url: "https://h/".into(),
                country: "BE".into(),
                origin: ForwardOrigin {
                    signals: vec![origin.signals[0].clone(); FORWARD_SIGNALS_MAX + 1],
                    ..origin.clone()
                },
            },
            ForwardMessage::Declined {
                forward: 3,
                at: Timestamp(1),
                reason: "x".repeat(rules::NOTE_MAX + 1),
            },
        ];
        for message in bad {
            assert!(message.check().is_err(), "{message:?}");
        }
        let unknown = r#"{"kind":"removed","forward":1,"at":2,"extra":1}"#;
        assert!(serde_json::from_str::<ForwardMessage>(unknown).is_err());
        let unknown_kind = r#"{"kind":"burn","forward":1}"#;
        assert!(serde_json::from_str::<ForwardMessage>(unknown_kind).is_err());
    }
}
