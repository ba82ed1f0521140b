//! Public reports, the same for both backends: what a report may hold, the host of a
//! reported URL, the SQL the two backends share, and reported URLs from their rows.

use ward_core::categories::Assessment;

use crate::error::{Result, StoreError};
use crate::model::*;
use crate::rows::{assessment_of, stored};

use crate::rules::{
    EMAIL_MAX as MAX_EMAIL, LANGUAGE_MAX, REPORT_DESCRIPTION_MAX as MAX_DESCRIPTION,
    REPORT_URLS_MAX as MAX_URLS, URL_MAX as MAX_URL,
};

/// Fetches tried before a URL is left unreachable for good.
pub(crate) const MAX_ATTEMPTS: i64 = 5;

/// A report's URLs, each once, in the order given, with their hosts; the rest checked.
pub(crate) fn check(report: &NewReport) -> Result<Vec<(&str, String)>> {
    let invalid = |what: String| Err(StoreError::Invalid(what));
    let country = &report.country;
    if !(country.is_empty()
        || (country.len() == 2 && country.bytes().all(|b| b.is_ascii_lowercase())))
    {
        return invalid(format!("not a country code: {country:?}"));
    }
    let language = &report.language;
    if language.is_empty()
        || language.len() > LANGUAGE_MAX
        || !language
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return invalid(format!("not a language tag: {language:?}"));
    }
    if !crate::rules::within(&report.description, MAX_DESCRIPTION) {
        return invalid(format!(
            "the description is longer than {MAX_DESCRIPTION} characters"
        ));
    }
    if let Some(email) = &report.email {
        let plausible = email.len() <= MAX_EMAIL
            && email.contains('@')
            && !email.chars().any(|c| c.is_control() || c.is_whitespace());
        if !plausible {
            return invalid("not an e-mail address".into());
        }
    }
    let mut urls: Vec<(&str, String)> = Vec::new();
    for url in &report.urls {
        if url.len() > MAX_URL {
            return invalid(format!("a URL is longer than {MAX_URL} bytes"));
        }
        let host = host_of(url).ok_or_else(|| {
            StoreError::Invalid(format!("not an http or https URL: {:?}", shorten(url)))
        })?;
        if !urls.iter().any(|(seen, _)| seen == url) {
            urls.push((url, host));
        }
    }
    if urls.is_empty() || urls.len() > MAX_URLS {
        return invalid(format!("a report names 1 to {MAX_URLS} URLs"));
    }
    Ok(urls)
}

fn shorten(text: &str) -> String {
    text.chars().take(60).collect()
}

/// The host of a normalised `http`/`https` URL, lower case (an IPv6 host keeps its
/// brackets); `None` when it is not one.
pub(crate) fn host_of(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let authority = &authority[authority.rfind('@').map_or(0, |at| at + 1)..];
    let host = if authority.starts_with('[') {
        &authority[..=authority.find(']')?]
    } else {
        &authority[..authority.find(':').unwrap_or(authority.len())]
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// A reported URL's row, in [`UrlRow`]'s order (its host, also a column, is read from the
/// URL: sqlx reads rows of at most 16 columns into tuples).
pub(crate) const SELECT_URL: &str = "SELECT id, url, state, reports, first_reported_at, \
     last_reported_at, attempts, fetched_at, fetch_error, media_type, sha256, matched_content, \
     age_group, activity, assessed_at, removed_at FROM reported_urls WHERE id = $1";

pub(crate) type UrlRow = (
    i64,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

/// The rest of a reported URL's row: who decided, their note, the content it was added to,
/// the content it is related to, where it is hosted (JSON).
pub(crate) type DecisionRow = (
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

pub(crate) const SELECT_DECISION: &str = "SELECT assessed_by, decision_note, added_content, \
     related_content, hosting FROM reported_urls WHERE id = $1";

/// The most addresses kept of where a URL is hosted.
pub const HOSTING_PLACES_MAX: usize = 32;

/// Checks where a URL is hosted before it is kept: at most [`HOSTING_PLACES_MAX`] places,
/// each an IP address, a two-letter country and a network name of at most 200 characters.
pub(crate) fn check_hosting(places: &[HostingPlace]) -> Result<String> {
    if places.len() > HOSTING_PLACES_MAX {
        return Err(StoreError::Invalid(format!(
            "a URL is kept with at most {HOSTING_PLACES_MAX} hosting addresses ({} given)",
            places.len()
        )));
    }
    for place in places {
        if place.address.parse::<std::net::IpAddr>().is_err() {
            return Err(StoreError::Invalid(format!(
                "not an IP address: {:?}",
                place.address
            )));
        }
        if place
            .country
            .as_deref()
            .is_some_and(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(StoreError::Invalid(format!(
                "a hosting country is two upper-case letters, not {:?}",
                place.country
            )));
        }
        if place
            .network
            .as_deref()
            .is_some_and(|n| n.chars().count() > 200)
        {
            return Err(StoreError::Invalid(
                "a network name is at most 200 characters".into(),
            ));
        }
    }
    serde_json::to_string(places).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// A URL reported again counts once more; a new one is received.
pub(crate) const UPSERT_URL: &str = "INSERT INTO reported_urls \
     (url, host, state, reports, first_reported_at, last_reported_at) \
     VALUES ($1, $2, 'received', 1, $3, $3) \
     ON CONFLICT (url) DO UPDATE SET reports = reported_urls.reports + 1, \
     last_reported_at = excluded.last_reported_at RETURNING id";

pub(crate) const INSERT_REPORT: &str = "INSERT INTO reports \
     (reference, country, language, content_kind, description, email, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";

/// The URLs a fetcher may take at `$1`: received, or unreachable with attempts left, and
/// not claimed by another node; the oldest first.
pub(crate) const CLAIMABLE: &str = "SELECT id FROM reported_urls \
     WHERE state IN ('received', 'unreachable') AND claimed_until <= $1 AND attempts < $2 \
     ORDER BY first_reported_at, id LIMIT $3";

/// The series of the content a URL matched.
pub(crate) const URL_SERIES: &str = "SELECT s.id, s.name, s.victim_identified, \
     s.offender_identified, s.referred_to, s.referred_at, s.members, s.merged_into, \
     s.split_from, s.created_at, s.updated_at FROM content_series c \
     JOIN series s ON s.id = c.series_id WHERE c.content_id = $1";

/// The analysts' queue in triage order, from position `$1`: novel content (matching nothing
/// a bank holds) first, then matches of content in a series whose victim is not identified
/// (or in no series yet), then the rest; within each, the newest report first.
pub(crate) const QUEUE: &str = "SELECT u.id FROM reported_urls u \
     LEFT JOIN content_series c ON c.content_id = u.related_content \
     LEFT JOIN series s ON s.id = c.series_id WHERE u.state = 'queued' \
     ORDER BY CASE WHEN u.related_content IS NULL THEN 0 WHEN s.victim_identified THEN 2 ELSE 1 END, \
     u.last_reported_at DESC, u.id DESC LIMIT $2 OFFSET $1";

/// The states in which an analyst may decide on a URL (again, to change a decision).
pub(crate) const ASSESSABLE: &[UrlState] = &[
    UrlState::Queued,
    UrlState::Assessed,
    UrlState::NotActionable,
];

/// What a report's reporter may see: its URLs and their states, in the order given.
pub(crate) const REPORT_STATUS: &str = "SELECT u.url, u.state FROM report_urls l \
     JOIN reported_urls u ON u.id = l.url_id WHERE l.report_id = $1 ORDER BY l.url_id";

pub(crate) fn reported_url(
    row: UrlRow,
    decision: DecisionRow,
    signals: Vec<Signal>,
) -> Result<ReportedUrl> {
    let (assessed_by, decision_note, added_content, related, hosting) = decision;
    // Written by `check_hosting`; a value that does not read back is shown as unknown.
    let hosting = hosting
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    let (
        id,
        url,
        state,
        reports,
        first_reported_at,
        last_reported_at,
        attempts,
        fetched_at,
        fetch_error,
        media_type,
        sha256,
        matched,
        age_group,
        activity,
        assessed_at,
        removed_at,
    ) = row;
    let assessment: Option<Assessment> = assessment_of(id, age_group, activity)?;
    let host = host_of(&url).unwrap_or_default();
    Ok(ReportedUrl {
        id: UrlId(id),
        url,
        host,
        state: stored(&state)?,
        reports: u32::try_from(reports).unwrap_or(u32::MAX),
        first_reported_at: Timestamp(first_reported_at),
        last_reported_at: Timestamp(last_reported_at),
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        fetched_at: fetched_at.map(Timestamp),
        fetch_error,
        media_type,
        sha256,
        signals,
        matched: matched.map(ContentId),
        related: related.map(ContentId),
        series: None,
        assessment,
        assessed_at: assessed_at.map(Timestamp),
        assessed_by: assessed_by.map(UserId),
        decision_note,
        added_content: added_content.map(ContentId),
        removed_at: removed_at.map(Timestamp),
        hosting,
    })
}

/// Evidence's row: media type, nonce, ciphertext, stored at, delete after.
pub(crate) type EvidenceRow = (String, Vec<u8>, Vec<u8>, i64, i64);

pub(crate) const SELECT_EVIDENCE: &str = "SELECT media_type, nonce, ciphertext, stored_at, \
     delete_after FROM evidence WHERE url_id = $1";

pub(crate) fn evidence(row: EvidenceRow) -> Evidence {
    let (media_type, nonce, ciphertext, stored_at, delete_after) = row;
    Evidence {
        media_type,
        nonce,
        ciphertext,
        stored_at: Timestamp(stored_at),
        delete_after: Timestamp(delete_after),
    }
}

/// The state a fetch leaves a URL in.
pub(crate) fn state_after(outcome: &FetchOutcome) -> UrlState {
    match outcome {
        FetchOutcome::Fetched {
            matched: Some(_), ..
        } => UrlState::Known,
        FetchOutcome::Fetched { .. } => UrlState::Queued,
        FetchOutcome::Failed { refused: true, .. } => UrlState::Refused,
        FetchOutcome::Failed { .. } => UrlState::Unreachable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_reported_urls() {
        let cases: &[(&str, Option<&str>)] = &[
            ("http://example.org/a/b?c#d", Some("example.org")),
            ("https://Example.ORG:8443/", Some("example.org")),
            ("https://example.org", Some("example.org")),
            ("https://user@example.org/", Some("example.org")),
            ("http://[2001:db8::1]:8080/x", Some("[2001:db8::1]")),
            ("http://93.184.215.14/x", Some("93.184.215.14")),
            ("http://example.org?q=1", Some("example.org")),
            ("ftp://example.org/", None),
            ("http:///path", None),
            ("http://exa mple.org/", None),
            ("example.org", None),
            ("http://[2001:db8::1/", None),
        ];
        for (url, host) in cases {
            assert_eq!(host_of(url).as_deref(), *host, "{url}");
        }
    }

    fn report(urls: &[&str]) -> NewReport {
        NewReport {
            country: "fr".into(),
            language: "fr".into(),
            content_kind: ContentKind::Images,
            urls: urls.iter().map(|u| u.to_string()).collect(),
            description: String::new(),
            email: None,
        }
    }

    #[test]
    fn reports_are_checked() {
        let three = report(&[
            "http://a.example/1",
            "http://b.example/",
            "http://a.example/1",
        ]);
        let urls = check(&three).unwrap();
        assert_eq!(
            urls,
            [
                ("http://a.example/1", "a.example".to_owned()),
                ("http://b.example/", "b.example".to_owned())
            ]
        );
        let refused = |change: &dyn Fn(&mut NewReport)| {
            let mut r = report(&["http://a.example/"]);
            change(&mut r);
            assert!(check(&r).is_err(), "{r:?}");
        };
        refused(&|r| r.urls.clear());
        refused(&|r| r.urls = (0..21).map(|n| format!("http://e.example/{n}")).collect());
        refused(&|r| r.urls = vec!["javascript:alert(1)".into()]);
        refused(&|r| r.urls = vec![format!("http://e.example/{}", "x".repeat(2048))]);
        refused(&|r| r.country = "FRA".into());
        refused(&|r| r.language = "fr_FR!".into());
        refused(&|r| r.description = "x".repeat(5001));
        refused(&|r| r.email = Some("nobody".into()));
        refused(&|r| r.email = Some("a@b\nBcc: c@d".into()));
        let mut fine = report(&["http://a.example/"]);
        fine.country = String::new();
        fine.email = Some("reporter@example.org".into());
        fine.description = "é".repeat(5000);
        assert!(check(&fine).is_ok());
    }
}
