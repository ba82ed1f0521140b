//! Referrals, the same for both backends: what a referral of content to law enforcement or a
//! hotline gathers from the store, the SQL the two backends share, and the rules for when an
//! item was first and last seen.
//!
//! A referral is made over a set of content ids (a series' members, or items chosen one by
//! one); the caller names what is referred (`subject`, the audit log's target:
//! `content:12,13`, `series:7`). For each item it holds the item as stored (signals, bank,
//! assessment, list label, provenance), the reported URLs related to it (those that matched
//! it at intake, and those whose signals an analyst added as it), each with the reports that
//! named it, and when the item was first and last seen:
//!
//! - **first seen** is the earliest of the item's addition to its bank and the first report
//!   of any related URL;
//! - **last seen** is the latest of the item's addition, the last report of any related URL
//!   and the last fetch of one (a fetch that served the item is a sighting). Ward keeps no
//!   update time for an item (changes are in the audit log), so an update to its label or
//!   assessment is not a sighting.
//!
//! What a report holds of its reporter (the e-mail, the description in their words) stays
//! with the hotline: a referral carries a report's reference, country, language, content
//! kind and filing time only.

use crate::error::{Result, StoreError};
use crate::model::{Content, ContentId, ContentKind, ReportedUrl, Timestamp};

use crate::rules::{MAX_REFERRAL_ITEMS, REFERRAL_SUBJECT_MAX as MAX_SUBJECT};

/// Content ids per query for related URLs (placeholders in one statement).
pub(crate) const IDS_PER_QUERY: usize = 500;

/// What a referral gathered, and who made it when (as the audit log records it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Referral {
    /// What is referred, as the audit log's target names it (`content:12,13`, `series:7`).
    pub subject: String,
    pub exported_at: Timestamp,
    /// The actor's label (`key:12`, `cli:ward referral`).
    pub exported_by: String,
    /// The items, in the order asked (each once).
    pub items: Vec<ReferralItem>,
}

/// One content item of a referral.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralItem {
    /// The item as stored: signals of every type, bank, assessment, label, provenance.
    pub content: Content,
    /// Its bank's name.
    pub bank_name: String,
    /// See the module's documentation.
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Reported URLs that matched the item or whose signals were added as it, by id.
    pub urls: Vec<ReferralUrl>,
}

/// A reported URL related to a referred item, with the reports that named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralUrl {
    pub url: ReportedUrl,
    /// Oldest first.
    pub reports: Vec<ReferralReport>,
}

/// What a referral carries of a report: never the reporter's e-mail or description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralReport {
    pub reference: String,
    /// ISO 3166-1 alpha-2, lower case; empty for the international page.
    pub country: String,
    pub language: String,
    pub content_kind: ContentKind,
    pub filed_at: Timestamp,
}

/// The content ids to refer, each once in the order given, and the subject, checked.
pub(crate) fn check<'a>(
    contents: &[ContentId],
    subject: &'a str,
) -> Result<(Vec<ContentId>, &'a str)> {
    let mut ids: Vec<ContentId> = Vec::with_capacity(contents.len());
    let mut seen = std::collections::HashSet::with_capacity(contents.len());
    for id in contents {
        if seen.insert(*id) {
            ids.push(*id);
        }
    }
    if ids.is_empty() {
        return Err(StoreError::Invalid(
            "a referral needs at least one content item".into(),
        ));
    }
    if ids.len() > MAX_REFERRAL_ITEMS {
        return Err(StoreError::Invalid(format!(
            "a referral holds at most {MAX_REFERRAL_ITEMS} content items"
        )));
    }
    let subject = subject.trim();
    if subject.is_empty()
        || subject.chars().count() > MAX_SUBJECT
        || subject.chars().any(char::is_control)
    {
        return Err(StoreError::Invalid(format!(
            "a referral's subject is 1 to {MAX_SUBJECT} printable characters"
        )));
    }
    Ok((ids, subject))
}

/// The ids of reported URLs related to any of `count` content ids bound as `$1..$count`.
pub(crate) fn related_urls(count: usize) -> String {
    let list = (1..=count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT id FROM reported_urls WHERE matched_content IN ({list}) \
         OR added_content IN ({list}) OR related_content IN ({list}) ORDER BY id"
    )
}

/// The reports naming a URL, oldest first: reference, country, language, content kind,
/// filed at.
pub(crate) const URL_REPORTS: &str = "SELECT r.reference, r.country, r.language, \
     r.content_kind, r.created_at FROM report_urls l JOIN reports r ON r.id = l.report_id \
     WHERE l.url_id = $1 ORDER BY r.created_at, r.id";

pub(crate) type ReportRow = (String, String, String, String, i64);

pub(crate) fn report(row: ReportRow) -> Result<ReferralReport> {
    let (reference, country, language, content_kind, filed_at) = row;
    Ok(ReferralReport {
        reference,
        country,
        language,
        content_kind: crate::rows::stored(&content_kind)?,
        filed_at: Timestamp(filed_at),
    })
}

/// An item with its related URLs, and when it was first and last seen.
pub(crate) fn item(content: Content, bank_name: String, urls: Vec<ReferralUrl>) -> ReferralItem {
    let added = content.provenance.added_at;
    let first_seen = urls
        .iter()
        .map(|u| u.url.first_reported_at)
        .fold(added, Timestamp::min);
    let last_seen = urls
        .iter()
        .flat_map(|u| [Some(u.url.last_reported_at), u.url.fetched_at])
        .flatten()
        .fold(added, Timestamp::max);
    ReferralItem {
        content,
        bank_name,
        first_seen,
        last_seen,
        urls,
    }
}

/// Whether a URL is related to an item.
pub(crate) fn related(url: &ReportedUrl, id: ContentId) -> bool {
    url.matched == Some(id) || url.added_content == Some(id) || url.related == Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrals_are_checked() {
        let ids = [ContentId(3), ContentId(1), ContentId(3)];
        let (ids, subject) = check(&ids, " content:3,1 ").unwrap();
        assert_eq!(ids, [ContentId(3), ContentId(1)]);
        assert_eq!(subject, "content:3,1");
        assert!(check(&[], "content:").is_err());
        assert!(check(&[ContentId(1)], "").is_err());
        assert!(check(&[ContentId(1)], "a\nb").is_err());
        assert!(check(&[ContentId(1)], &"x".repeat(201)).is_err());
        let many: Vec<ContentId> = (0..=MAX_REFERRAL_ITEMS as i64).map(ContentId).collect();
        assert!(check(&many, "series:1").is_err());
    }

    #[test]
    fn related_urls_bind_each_id_once() {
        assert_eq!(
            related_urls(2),
            "SELECT id FROM reported_urls WHERE matched_content IN ($1, $2) \
             OR added_content IN ($1, $2) OR related_content IN ($1, $2) ORDER BY id"
        );
    }
}
