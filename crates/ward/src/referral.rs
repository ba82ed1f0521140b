//! Referrals of content to law enforcement or a hotline, for `ward referral` and the
//! `/v1` referral routes: the store gathers and audits (`Store::referral`), ward-core's
//! `exchange::referral` writes Ward's referral JSON or VICS.
//!
//! To refer a series, look up its member content ids and what is known of it, and call
//! [`export`] with the ids, a [`ReferralSubject`] of kind `series`, and the target
//! `series:ID` that the audit log records.

use std::io::Write;
use std::str::FromStr;

use ward_core::exchange::ExchangedSignal;
use ward_core::exchange::referral::{self as document, VicsSummary};
use ward_store::{Actor, ContentId, Store, StoreError};

use crate::exchange::item;

pub use ward_core::exchange::referral::ReferralSubject;

/// The formats a referral is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReferralFormat {
    /// Ward's referral JSON: everything the referral holds.
    Json,
    /// A Project VIC `#Media` export (no vPDQ; see ward-core's `exchange::referral`).
    Vics,
}

impl FromStr for ReferralFormat {
    type Err = String;

    fn from_str(name: &str) -> Result<ReferralFormat, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(ReferralFormat::Json),
            "vics" => Ok(ReferralFormat::Vics),
            _ => Err(format!(
                "cannot write a referral as {name:?} (expected json or vics)"
            )),
        }
    }
}

/// Why a referral could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReferralError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the referral: {0}")]
    Write(#[from] std::io::Error),
}

/// What [`export`] wrote: the items, and (VICS only) the content ids left out because VICS
/// cannot carry any of their signals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exported {
    pub written: u64,
    pub omitted: Vec<i64>,
}

/// The audit log's target for a set of content items: `content:12,13` (each once, in the
/// order given, as the store refers them).
pub fn content_target(contents: &[ContentId]) -> String {
    let mut seen = std::collections::HashSet::with_capacity(contents.len());
    let ids: Vec<String> = contents
        .iter()
        .filter(|id| seen.insert(**id))
        .map(|id| id.to_string())
        .collect();
    format!("content:{}", ids.join(","))
}

/// Gathers the referral of `contents` from the store (logged as `export.referral` by
/// `actor`, target `target`), then writes it to `out` in `format`, with `subject` as its
/// header. The caller checks beforehand that the actor may see every item.
pub async fn export<W: Write>(
    store: &impl Store,
    actor: &Actor,
    contents: &[ContentId],
    target: &str,
    subject: Option<ReferralSubject>,
    format: ReferralFormat,
    out: W,
) -> Result<Exported, ReferralError> {
    let referral = store.referral(actor, contents, target).await?;
    let referral = to_document(&referral, subject);
    write(&referral, format, out)
}

/// Writes a referral document in `format`.
pub fn write<W: Write>(
    referral: &document::Referral,
    format: ReferralFormat,
    out: W,
) -> Result<Exported, ReferralError> {
    Ok(match format {
        ReferralFormat::Json => {
            document::write_json(referral, out)?;
            Exported {
                written: referral.items.len() as u64,
                omitted: Vec::new(),
            }
        }
        ReferralFormat::Vics => {
            let VicsSummary { written, omitted } = document::write_vics(referral, out)?;
            Exported { written, omitted }
        }
    })
}

/// What the store gathered, as the document ward-core writes.
pub fn to_document(
    referral: &ward_store::Referral,
    subject: Option<ReferralSubject>,
) -> document::Referral {
    let time = |t: ward_store::Timestamp| t.to_rfc3339();
    let items = referral
        .items
        .iter()
        .map(|found| {
            let content = &found.content;
            let urls = found
                .urls
                .iter()
                .map(|related| {
                    let url = &related.url;
                    document::ReferralUrl {
                        url: url.url.clone(),
                        host: url.host.clone(),
                        state: url.state.name().to_owned(),
                        matched: url.matched == Some(content.id),
                        added: url.added_content == Some(content.id),
                        reports: url.reports,
                        first_reported_at: time(url.first_reported_at),
                        last_reported_at: time(url.last_reported_at),
                        fetched_at: url.fetched_at.map(time),
                        assessed_at: url.assessed_at.map(time),
                        removed_at: url.removed_at.map(time),
                        media_type: url.media_type.clone(),
                        sha256: url.sha256.clone(),
                        signals: url
                            .signals
                            .iter()
                            .map(|s| ExchangedSignal {
                                signal_type: s.kind.name(),
                                value: s.value.clone(),
                            })
                            .collect(),
                        filed: related
                            .reports
                            .iter()
                            .map(|r| document::ReferralReport {
                                reference: r.reference.clone(),
                                country: r.country.clone(),
                                language: r.language.clone(),
                                content_kind: r.content_kind.name().to_owned(),
                                filed_at: time(r.filed_at),
                            })
                            .collect(),
                    }
                })
                .collect();
            document::ReferralItem {
                content_id: content.id.0,
                external_id: content.external_id.clone(),
                bank: found.bank_name.clone(),
                enabled: content.enabled,
                item: item(content),
                assessment: content.assessment,
                source: content.provenance.source.clone(),
                added_at: time(content.provenance.added_at),
                first_seen: time(found.first_seen),
                last_seen: time(found.last_seen),
                urls,
            }
        })
        .collect();
    document::Referral {
        target: referral.subject.clone(),
        subject,
        exported_at: time(referral.exported_at),
        exported_by: referral.exported_by.clone(),
        items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_targets() {
        assert_eq!("JSON".parse(), Ok(ReferralFormat::Json));
        assert_eq!(" vics".parse(), Ok(ReferralFormat::Vics));
        assert_eq!(
            "csv".parse::<ReferralFormat>(),
            Err("cannot write a referral as \"csv\" (expected json or vics)".into())
        );
        assert_eq!(
            content_target(&[ContentId(12), ContentId(13), ContentId(12)]),
            "content:12,13"
        );
    }
}
