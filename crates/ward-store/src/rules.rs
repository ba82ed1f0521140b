//! What the store accepts from its callers: every text field's maximum, names, distances,
//! labels, read actions, audit page sizes. Both backends check through these functions, so
//! they refuse the same input, and every path into the store (the API, the HMA routes, the
//! command line, imports, federation, the portal and the analyst's pages) is held to the
//! same maxima. Callers that must tell a bad record from a bad batch (imports) check items
//! with [`content`] first; the store checks again.
//!
//! Lengths are in characters (Unicode scalar values) unless they say bytes; README.md lists
//! them all.

use crate::error::{Result, StoreError};
use crate::model::{FetchOutcome, ImportChange, NewContent, NewPartner, OrgId};

/// The longest name: organisations, banks, users, partners, series and referral
/// recipients.
pub const NAME_MAX: usize = 100;
/// The longest bank description.
pub const DESCRIPTION_MAX: usize = 2_000;
/// The longest key label.
pub const LABEL_MAX: usize = 200;
/// The longest note of an analyst's decision.
pub const NOTE_MAX: usize = 2_000;
/// The longest note on a content item (HMA's limit).
pub const CONTENT_NOTE_MAX: usize = 255;
/// The longest metadata a client keeps on a content item (a JSON object), in bytes.
pub const CONTENT_METADATA_MAX: usize = 65_536;
/// The longest signal type name whose enabled ratio is kept.
pub const SIGNAL_TYPE_NAME_MAX: usize = 64;
/// The longest provenance source of a content item (`api:import`, a file's name).
pub const SOURCE_MAX: usize = 200;
/// The longest external id (a list's own id of an item).
pub const EXTERNAL_ID_MAX: usize = 200;
/// The most signals one content item has.
pub const SIGNALS_MAX: usize = 64;
/// The longest PhotoDNA signal, in bytes (the other types are parsed to their fixed forms;
/// a vPDQ is bounded by [`ITEM_MAX`]).
pub const PHOTODNA_MAX: usize = 4_096;
/// The longest parts of a list's category label: scheme, profile, label.
pub const LIST_SCHEME_MAX: usize = 32;
pub const LIST_PROFILE_MAX: usize = 100;
pub const LIST_LABEL_MAX: usize = 200;
/// The most attributes (a list's other fields) one content item keeps.
pub const ATTRIBUTES_MAX: usize = 256;
/// The longest attribute name.
pub const ATTRIBUTE_NAME_MAX: usize = 200;
/// The longest attribute value.
pub const ATTRIBUTE_VALUE_MAX: usize = 65_536;
/// The most bytes one content item takes, all its text together: one record of a streamed
/// list at most ([`ward_core::exchange::MAX_RECORD`], 16 MiB: a vPDQ of an hour of every
/// frame fits).
pub const ITEM_MAX: u64 = ward_core::exchange::MAX_RECORD;
/// The most URLs one report names.
pub const REPORT_URLS_MAX: usize = 20;
/// The longest URL, in bytes (reported URLs, webhooks, partners' addresses).
pub const URL_MAX: usize = 2_048;
/// The longest description of a report.
pub const REPORT_DESCRIPTION_MAX: usize = 5_000;
/// The longest e-mail address, in bytes (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;
/// The longest language tag, in bytes (a report's language).
pub const LANGUAGE_MAX: usize = 35;
/// The longest host pattern of a contact, in bytes (a DNS name's limit).
pub const HOST_PATTERN_MAX: usize = 253;
/// The longest API key a partner gave this instance, and the longest feed cursor, in bytes.
pub const PARTNER_KEY_MAX: usize = 512;
pub const CURSOR_MAX: usize = 200;
/// The longest media type and error recorded for a reported URL's fetch (and a notice's
/// sending).
pub const MEDIA_TYPE_MAX: usize = 255;
pub const FETCH_ERROR_MAX: usize = 2_000;
/// The longest password hash (a PHC string), in bytes.
pub const PASSWORD_HASH_MAX: usize = 512;
/// The most content items one referral holds, and its subject's longest text.
pub const MAX_REFERRAL_ITEMS: usize = 10_000;
pub const REFERRAL_SUBJECT_MAX: usize = 200;
/// The most series one query lists.
pub const SERIES_PAGE_MAX: u32 = 1000;
/// The most items one split may name.
pub const SPLIT_MAX: usize = 100_000;
/// The largest PDQ match distance a bank may have (a PDQ hash has 256 bits).
pub(crate) const DISTANCE_MAX: u32 = 255;
/// Audit events listed when a query asks for none in particular.
pub(crate) const AUDIT_DEFAULT_LIMIT: u32 = 100;
/// The most audit events one query lists.
pub(crate) const AUDIT_MAX_LIMIT: u32 = 10_000;

/// Whether `text` has at most `max` characters (counted only when its bytes could be more).
pub fn within(text: &str, max: usize) -> bool {
    text.len() <= max || text.chars().count() <= max
}

/// Refuses `text` when it has more than `max` characters, naming `what` and the maximum
/// (never echoing the text, which may be huge).
pub fn length(what: &str, text: &str, max: usize) -> Result<()> {
    if within(text, max) {
        return Ok(());
    }
    Err(StoreError::Invalid(format!(
        "{what} has {} characters (at most {max})",
        text.chars().count()
    )))
}

/// A content item's notes: the note within [`CONTENT_NOTE_MAX`] characters and not empty,
/// the metadata a JSON object within [`CONTENT_METADATA_MAX`] bytes.
pub fn content_notes(notes: &crate::model::ContentNotes) -> Result<()> {
    if let Some(note) = &notes.note {
        if note.is_empty() {
            return Err(StoreError::Invalid("an empty note is no note".into()));
        }
        length("the note", note, CONTENT_NOTE_MAX)?;
    }
    if let Some(metadata) = &notes.metadata {
        if metadata.len() > CONTENT_METADATA_MAX {
            return Err(StoreError::Invalid(format!(
                "the metadata has {} bytes (at most {CONTENT_METADATA_MAX})",
                metadata.len()
            )));
        }
        if !matches!(
            serde_json::from_str::<serde_json::Value>(metadata),
            Ok(serde_json::Value::Object(_))
        ) {
            return Err(StoreError::Invalid(
                "the metadata is not a JSON object".into(),
            ));
        }
    }
    Ok(())
}

/// A signal type's name, as HMA names them (`pdq`, `video_md5`): 1 to
/// [`SIGNAL_TYPE_NAME_MAX`] lower-case letters, digits and underscores.
pub fn signal_type_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= SIGNAL_TYPE_NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "a signal type's name is 1 to {SIGNAL_TYPE_NAME_MAX} lower-case letters, digits \
             and underscores"
        )))
    }
}

/// As [`length`], in bytes.
fn bytes(what: &str, text: &str, max: usize) -> Result<()> {
    if text.len() <= max {
        return Ok(());
    }
    Err(StoreError::Invalid(format!(
        "{what} has {} bytes (at most {max})",
        text.len()
    )))
}

/// An organisation or bank name: trimmed, 1 to 100 characters, none of them a control
/// character. Returns the trimmed name, which is what is stored.
pub(crate) fn name(what: &str, text: &str) -> Result<String> {
    let name = text.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid(format!("the {what} name is empty")));
    }
    let length = name.chars().count();
    if length > NAME_MAX {
        return Err(StoreError::Invalid(format!(
            "the {what} name has {length} characters (at most {NAME_MAX})"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "the {what} name {name:?} contains a control character"
        )));
    }
    Ok(name.to_owned())
}

/// A bank's PDQ match distance, as stored.
pub(crate) fn distance(distance: u32) -> Result<i64> {
    if distance > DISTANCE_MAX {
        return Err(StoreError::Invalid(format!(
            "the distance {distance} is out of range (0 to {DISTANCE_MAX})"
        )));
    }
    Ok(i64::from(distance))
}

/// The most organisations a bank is shared with by name.
pub const SHARED_WITH_MAX: usize = 1000;

/// The organisations a bank is shared with, as stored: in id order, each once, at most
/// 1,000 (whether each exists is the backend's check).
pub(crate) fn shared_with(orgs: &[OrgId]) -> Result<Vec<OrgId>> {
    let mut orgs = orgs.to_vec();
    orgs.sort_unstable();
    orgs.dedup();
    if orgs.len() > SHARED_WITH_MAX {
        return Err(StoreError::Invalid(format!(
            "a bank is shared with at most {SHARED_WITH_MAX} organisations by name, not {}",
            orgs.len()
        )));
    }
    Ok(orgs)
}

/// A bank's dispute limit, as stored: at least one organisation, or none (no policy).
pub(crate) fn dispute_limit(limit: Option<u32>) -> Result<Option<i64>> {
    match limit {
        Some(0) => Err(StoreError::Invalid(
            "a dispute limit is at least 1 organisation (or none, to never disable)".into(),
        )),
        other => Ok(other.map(i64::from)),
    }
}

/// A password hash as the store keeps it: a PHC string of argon2 (the service hashes).
pub(crate) fn password_hash(hash: &str) -> Result<&str> {
    if !hash.starts_with("$argon2")
        || hash.len() > PASSWORD_HASH_MAX
        || hash.chars().any(char::is_control)
    {
        return Err(StoreError::Invalid(
            "a password is stored only as an argon2 hash (a PHC string)".into(),
        ));
    }
    Ok(hash)
}

/// A UTC day as exposure is counted by: `YYYY-MM-DD`.
pub(crate) fn day(day: &str) -> Result<&str> {
    let b = day.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return Err(StoreError::Invalid(format!(
            "not a day (YYYY-MM-DD): {day:?}"
        )));
    }
    Ok(day)
}

/// A decision's note: at most [`NOTE_MAX`] characters.
pub(crate) fn note(text: &str) -> Result<&str> {
    length("the note", text, NOTE_MAX)?;
    Ok(text)
}

/// A key's label: at most [`LABEL_MAX`] characters.
pub(crate) fn label(text: &str) -> Result<&str> {
    length("the label", text, LABEL_MAX)?;
    Ok(text)
}

/// A bank's description: at most [`DESCRIPTION_MAX`] characters.
pub fn description(text: &str) -> Result<&str> {
    length("the description", text, DESCRIPTION_MAX)?;
    Ok(text)
}

/// An external id: 1 to [`EXTERNAL_ID_MAX`] characters, without control characters.
pub fn external_id(id: &str) -> Result<()> {
    if id.is_empty() || !within(id, EXTERNAL_ID_MAX) || id.chars().any(char::is_control) {
        let shown: String = id.chars().take(40).collect();
        return Err(StoreError::Invalid(format!(
            "an external id must be 1 to {EXTERNAL_ID_MAX} characters without control \
             characters: {shown:?}"
        )));
    }
    Ok(())
}

/// A content item to store: its signals (1 to [`SIGNALS_MAX`]; PhotoDNA at most
/// [`PHOTODNA_MAX`] bytes), source, external id, list label and attributes within their
/// maxima, and all of its text together within [`ITEM_MAX`] bytes. Signals are otherwise
/// the caller's to validate (ward-core parses them).
pub fn content(item: &NewContent) -> Result<()> {
    if item.signals.len() > SIGNALS_MAX {
        return Err(StoreError::Invalid(format!(
            "a content item has {} signals (at most {SIGNALS_MAX})",
            item.signals.len()
        )));
    }
    let mut total = item.source.len() as u64;
    for signal in &item.signals {
        if signal.kind == crate::model::SignalKind::Photodna {
            bytes("a photodna signal", &signal.value, PHOTODNA_MAX)?;
        }
        total += signal.value.len() as u64;
    }
    length("the source", &item.source, SOURCE_MAX)?;
    if let Some(id) = &item.external_id {
        external_id(id)?;
        total += id.len() as u64;
    }
    if let Some(label) = &item.label {
        length("the list label's scheme", &label.scheme, LIST_SCHEME_MAX)?;
        if let Some(profile) = &label.profile {
            length("the list label's profile", profile, LIST_PROFILE_MAX)?;
        }
        length("the list label", &label.label, LIST_LABEL_MAX)?;
    }
    if item.attributes.len() > ATTRIBUTES_MAX {
        return Err(StoreError::Invalid(format!(
            "a content item has {} attributes (at most {ATTRIBUTES_MAX})",
            item.attributes.len()
        )));
    }
    for (name, value) in &item.attributes {
        length("an attribute's name", name, ATTRIBUTE_NAME_MAX)?;
        if !within(value, ATTRIBUTE_VALUE_MAX) {
            let shown: String = name.chars().take(40).collect();
            return Err(StoreError::Invalid(format!(
                "the attribute {shown:?} has {} characters (at most {ATTRIBUTE_VALUE_MAX})",
                value.chars().count()
            )));
        }
        total += (name.len() + value.len()) as u64;
    }
    if total > ITEM_MAX {
        return Err(StoreError::Invalid(format!(
            "a content item takes {total} bytes of text (at most {ITEM_MAX})"
        )));
    }
    Ok(())
}

/// An import batch's changes: every upsert a valid [`content`] item, every tombstone a
/// valid external id.
pub(crate) fn changes(changes: &[ImportChange]) -> Result<()> {
    for change in changes {
        match change {
            ImportChange::Upsert(item) => content(item)?,
            ImportChange::Delete { external_id: id } => external_id(id)?,
        }
    }
    Ok(())
}

/// A partner as stored: its name, an http(s) URL, its key and public key within their
/// maxima.
pub(crate) fn partner(partner: &NewPartner) -> Result<String> {
    let name = name("partner", &partner.name)?;
    bytes("the partner's URL", &partner.url, URL_MAX)?;
    bytes("the partner's API key", &partner.api_key, PARTNER_KEY_MAX)?;
    bytes(
        "the partner's public key",
        &partner.public_key,
        PARTNER_KEY_MAX,
    )?;
    Ok(name)
}

/// A feed cursor as stored (a partner's, read from its pages).
pub(crate) fn cursor(cursor: &str) -> Result<&str> {
    bytes("a feed cursor", cursor, CURSOR_MAX)?;
    Ok(cursor)
}

/// What a fetch gave, as recorded: its media type and error within their maxima.
pub(crate) fn fetch_outcome(outcome: &FetchOutcome) -> Result<()> {
    match outcome {
        FetchOutcome::Fetched { media_type, .. } => {
            length("the media type", media_type, MEDIA_TYPE_MAX)
        }
        FetchOutcome::Failed { error, .. } => length("the fetch error", error, FETCH_ERROR_MAX),
    }
}

/// The action of a logged read: `read.<what>`.
pub(crate) fn read_action(action: &str) -> Result<&str> {
    match action.strip_prefix("read.") {
        Some(what) if !what.is_empty() && !action.chars().any(char::is_control) => Ok(action),
        _ => Err(StoreError::Invalid(format!(
            "a logged read's action must be read.<what>, not {action:?}"
        ))),
    }
}

/// How many audit events a query with `limit` lists: 0 means the default.
pub(crate) fn audit_limit(limit: u32) -> i64 {
    let limit = if limit == 0 {
        AUDIT_DEFAULT_LIMIT
    } else {
        limit.min(AUDIT_MAX_LIMIT)
    };
    i64::from(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let check = |text: &str, expected: Option<&str>| {
            assert_eq!(name("bank", text).ok().as_deref(), expected, "{text:?}")
        };
        check("NCMEC_HASHES", Some("NCMEC_HASHES"));
        check("  padded\t", Some("padded"));
        check("Ünïcödé bank", Some("Ünïcödé bank"));
        check(&"x".repeat(100), Some("x".repeat(100).as_str()));
        check(&"é".repeat(100), Some("é".repeat(100).as_str()));
        check(&"x".repeat(101), None);
        check("", None);
        check("   ", None);
        check("two\nlines", None);
        check("bell\u{7}", None);
        check("del\u{7f}", None);
    }

    #[test]
    fn distances() {
        let check = |d: u32, ok: bool| assert_eq!(distance(d).is_ok(), ok, "{d}");
        check(0, true);
        check(31, true);
        check(255, true);
        check(256, false);
        check(u32::MAX, false);
    }

    #[test]
    fn sharing_lists_and_dispute_limits() {
        let orgs = |ids: &[i64]| ids.iter().copied().map(OrgId).collect::<Vec<_>>();
        assert_eq!(shared_with(&orgs(&[3, 1, 3, 2])).unwrap(), orgs(&[1, 2, 3]));
        assert_eq!(shared_with(&[]).unwrap(), orgs(&[]));
        let many: Vec<i64> = (1..=1001).collect();
        assert!(shared_with(&orgs(&many)).is_err());
        assert!(shared_with(&orgs(&many[..1000])).is_ok());
        assert_eq!(dispute_limit(None).unwrap(), None);
        assert_eq!(dispute_limit(Some(1)).unwrap(), Some(1));
        assert_eq!(
            dispute_limit(Some(u32::MAX)).unwrap(),
            Some(i64::from(u32::MAX))
        );
        assert!(dispute_limit(Some(0)).is_err());
    }

    #[test]
    fn password_hashes_days_and_notes() {
        assert!(password_hash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA").is_ok());
        assert!(password_hash("hunter2").is_err());
        assert!(password_hash("$argon2id$\n").is_err());
        assert!(day("2026-11-29").is_ok());
        for bad in ["2026-1-29", "2026/11/29", "20261129", "", "2026-11-2x"] {
            assert!(day(bad).is_err(), "{bad}");
        }
        assert!(note(&"n".repeat(2000)).is_ok());
        assert!(note(&"n".repeat(2001)).is_err());
    }

    #[test]
    fn descriptions() {
        let check =
            |text: &str, ok: bool| assert_eq!(description(text).is_ok(), ok, "{}", text.len());
        check("", true);
        check(&"d".repeat(DESCRIPTION_MAX), true);
        check(&"é".repeat(DESCRIPTION_MAX), true);
        check(&"d".repeat(DESCRIPTION_MAX + 1), false);
        check(&"d".repeat(200 << 20), false);
    }

    #[test]
    fn content_items() {
        use crate::model::{ListLabel, Signal, SignalKind};
        let signal = |kind, value: &str| Signal {
            kind,
            value: value.to_owned(),
        };
        let base = || NewContent {
            signals: vec![signal(SignalKind::Md5, &"a".repeat(32))],
            source: "api".into(),
            ..NewContent::default()
        };
        let check = |change: &dyn Fn(&mut NewContent), ok: bool| {
            let mut item = base();
            change(&mut item);
            let result = content(&item);
            assert_eq!(result.is_ok(), ok, "{result:?}");
            if let Err(error) = result {
                // The message names the field and its maximum, never the text.
                assert!(error.to_string().len() < 200, "{error}");
            }
        };
        check(&|_| {}, true);
        check(&|i| i.source = "s".repeat(SOURCE_MAX), true);
        check(&|i| i.source = "s".repeat(SOURCE_MAX + 1), false);
        check(&|i| i.external_id = Some("x".repeat(EXTERNAL_ID_MAX)), true);
        check(
            &|i| i.external_id = Some("x".repeat(EXTERNAL_ID_MAX + 1)),
            false,
        );
        check(&|i| i.external_id = Some(String::new()), false);
        check(
            &|i| i.signals = vec![signal(SignalKind::Photodna, &"p".repeat(PHOTODNA_MAX))],
            true,
        );
        check(
            &|i| i.signals = vec![signal(SignalKind::Photodna, &"p".repeat(PHOTODNA_MAX + 1))],
            false,
        );
        check(
            &|i| i.signals = vec![signal(SignalKind::Md5, "a"); SIGNALS_MAX],
            true,
        );
        check(
            &|i| i.signals = vec![signal(SignalKind::Md5, "a"); SIGNALS_MAX + 1],
            false,
        );
        let label = |scheme: &str, profile: Option<&str>, label: &str| ListLabel {
            scheme: scheme.to_owned(),
            profile: profile.map(str::to_owned),
            label: label.to_owned(),
        };
        check(&|i| i.label = Some(label("vics", Some("US"), "1")), true);
        check(
            &|i| i.label = Some(label(&"s".repeat(33), None, "1")),
            false,
        );
        check(
            &|i| i.label = Some(label("vics", Some(&"p".repeat(101)), "1")),
            false,
        );
        check(
            &|i| i.label = Some(label("vics", None, &"l".repeat(201))),
            false,
        );
        let attribute = |name: &str, value: &str| (name.to_owned(), value.to_owned());
        check(
            &|i| i.attributes = vec![attribute("Series", "x"); ATTRIBUTES_MAX],
            true,
        );
        check(
            &|i| i.attributes = vec![attribute("Series", "x"); ATTRIBUTES_MAX + 1],
            false,
        );
        check(
            &|i| i.attributes = vec![attribute(&"n".repeat(201), "x")],
            false,
        );
        check(
            &|i| i.attributes = vec![attribute("Notes", &"v".repeat(ATTRIBUTE_VALUE_MAX))],
            true,
        );
        check(
            &|i| i.attributes = vec![attribute("Notes", &"v".repeat(ATTRIBUTE_VALUE_MAX + 1))],
            false,
        );
        // Each field within its maximum, all of them together over the item's.
        let big = "v".repeat(ATTRIBUTE_VALUE_MAX);
        check(
            &|i| i.attributes = vec![attribute("Notes", &big); ATTRIBUTES_MAX],
            ITEM_MAX >= (ATTRIBUTES_MAX * (ATTRIBUTE_VALUE_MAX + 5)) as u64,
        );
        check(
            &|i| i.signals = vec![signal(SignalKind::Vpdq, &"[".repeat(ITEM_MAX as usize))],
            false,
        );
    }

    #[test]
    fn partners_cursors_and_fetches() {
        let partner = |url: &str, key: &str| NewPartner {
            name: "A".into(),
            url: url.into(),
            api_key: key.into(),
            public_key: "ab".repeat(32),
            bank: crate::model::BankId(1),
        };
        assert!(super::partner(&partner("https://a.example", "ward_k")).is_ok());
        assert!(super::partner(&partner(&"u".repeat(URL_MAX + 1), "k")).is_err());
        assert!(super::partner(&partner("https://a", &"k".repeat(PARTNER_KEY_MAX + 1))).is_err());
        assert!(cursor("123").is_ok());
        assert!(cursor(&"9".repeat(CURSOR_MAX + 1)).is_err());
        let failed = |error: String| FetchOutcome::Failed {
            error,
            refused: false,
            retry_at: None,
        };
        assert!(fetch_outcome(&failed("timed out".into())).is_ok());
        assert!(fetch_outcome(&failed("e".repeat(FETCH_ERROR_MAX + 1))).is_err());
    }

    #[test]
    fn labels() {
        assert!(label("").is_ok());
        assert!(label(&"l".repeat(200)).is_ok());
        assert!(label(&"l".repeat(201)).is_err());
    }

    #[test]
    fn read_actions() {
        let check = |action: &str, ok: bool| assert_eq!(read_action(action).is_ok(), ok);
        check("read.content", true);
        check("read.bank.export", true);
        check("read.", false);
        check("content.add", false);
        check("read.x\n", false);
    }

    #[test]
    fn audit_limits() {
        let check = |limit: u32, expected: i64| assert_eq!(audit_limit(limit), expected);
        check(0, 100);
        check(1, 1);
        check(10_000, 10_000);
        check(10_001, 10_000);
        check(u32::MAX, 10_000);
    }
}
