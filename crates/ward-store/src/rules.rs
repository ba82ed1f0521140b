//! What the store accepts from its callers: names, distances, labels, read actions, audit
//! page sizes. Both backends check through these functions, so they refuse the same input.

use crate::error::{Result, StoreError};
use crate::model::OrgId;

/// The longest organisation or bank name, in characters.
pub(crate) const NAME_MAX: usize = 100;
/// The longest key label, in characters.
pub(crate) const LABEL_MAX: usize = 200;
/// The largest PDQ match distance a bank may have (a PDQ hash has 256 bits).
pub(crate) const DISTANCE_MAX: u32 = 255;
/// Audit events listed when a query asks for none in particular.
pub(crate) const AUDIT_DEFAULT_LIMIT: u32 = 100;
/// The most audit events one query lists.
pub(crate) const AUDIT_MAX_LIMIT: u32 = 10_000;

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
pub(crate) const SHARED_WITH_MAX: usize = 1000;

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
    if !hash.starts_with("$argon2") || hash.len() > 512 || hash.chars().any(char::is_control) {
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

/// A decision's note: at most 2,000 characters.
pub(crate) fn note(text: &str) -> Result<&str> {
    if text.chars().count() > 2000 {
        return Err(StoreError::Invalid(
            "a note is at most 2,000 characters".into(),
        ));
    }
    Ok(text)
}

/// A key's label: at most 200 characters.
pub(crate) fn label(text: &str) -> Result<&str> {
    let length = text.chars().count();
    if length > LABEL_MAX {
        return Err(StoreError::Invalid(format!(
            "the label has {length} characters (at most {LABEL_MAX})"
        )));
    }
    Ok(text)
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
