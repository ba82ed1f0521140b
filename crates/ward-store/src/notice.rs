//! Notices to hosts, the same for both backends: what a contact may hold, which contact
//! covers a host, the SQL the two backends share, and notices from their rows.

use crate::error::{Result, StoreError};
use crate::model::*;
use crate::rows::stored;

/// A contact's pattern as stored: a host name (lower case, without a trailing dot) or an
/// IP address, which covers itself and, for a name, its subdomains.
pub(crate) fn pattern(text: &str) -> Result<String> {
    let pattern = text.trim().trim_end_matches('.').to_ascii_lowercase();
    let name_like = !pattern.is_empty()
        && pattern.len() <= crate::rules::HOST_PATTERN_MAX
        && pattern
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'))
        && !pattern.starts_with('.')
        && !pattern.contains("..");
    if !name_like {
        return Err(StoreError::Invalid(format!(
            "not a host name to reach a host by: {text:?}"
        )));
    }
    Ok(pattern)
}

/// A contact's addresses, checked: at least one, an e-mail address that looks like one, a
/// webhook that is an http(s) URL with a host (and no user information).
pub(crate) fn addresses<'a>(
    email: Option<&'a str>,
    webhook: Option<&'a str>,
) -> Result<(Option<&'a str>, Option<&'a str>)> {
    let email = email.map(str::trim).filter(|e| !e.is_empty());
    let webhook = webhook.map(str::trim).filter(|w| !w.is_empty());
    if email.is_none() && webhook.is_none() {
        return Err(StoreError::Invalid(
            "a contact needs an e-mail address or a webhook".into(),
        ));
    }
    if let Some(email) = email {
        let plausible = email.len() <= crate::rules::EMAIL_MAX
            && email
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
            && !email.chars().any(|c| c.is_control() || c.is_whitespace());
        if !plausible {
            return Err(StoreError::Invalid(format!(
                "not an e-mail address: {email:?}"
            )));
        }
    }
    if let Some(webhook) = webhook {
        let rest = webhook
            .strip_prefix("https://")
            .or_else(|| webhook.strip_prefix("http://"));
        // A host after the scheme (before any port, path, query or fragment).
        let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
        let has_host =
            host.is_some_and(|h| !h.is_empty() && !h.starts_with(':') && !h.contains('@'));
        if !has_host
            || webhook.len() > crate::rules::URL_MAX
            || webhook.chars().any(char::is_whitespace)
        {
            return Err(StoreError::Invalid(format!(
                "a webhook is an http or https URL with a host: {webhook:?}"
            )));
        }
    }
    Ok((email, webhook))
}

/// Whether `pattern` covers `host`: the same host, or a subdomain of it.
pub(crate) fn covers(pattern: &str, host: &str) -> bool {
    host == pattern
        || (host.len() > pattern.len()
            && host.ends_with(pattern)
            && host.as_bytes()[host.len() - pattern.len() - 1] == b'.')
}

/// The contact that covers `host`: the one with the longest pattern.
pub(crate) fn contact_for<'a>(host: &str, contacts: &'a [HostContact]) -> Option<&'a HostContact> {
    contacts
        .iter()
        .filter(|c| covers(&c.pattern, host))
        .max_by_key(|c| c.pattern.len())
}

pub(crate) type ContactRow = (i64, String, Option<String>, Option<String>, i64);

pub(crate) const SELECT_CONTACTS: &str =
    "SELECT id, pattern, email, webhook, created_at FROM host_contacts ORDER BY pattern";

pub(crate) fn contact(row: ContactRow) -> HostContact {
    let (id, pattern, email, webhook, created_at) = row;
    HostContact {
        id: ContactId(id),
        pattern,
        email,
        webhook,
        created_at: Timestamp(created_at),
    }
}

pub(crate) type NoticeRow = (
    i64,
    i64,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    i64,
    Option<i64>,
);

pub(crate) const NOTICE_COLUMNS_BY_URL: &str = "SELECT id, url_id, channel, address, created_at, \
     sends, first_sent_at, last_sent_at, last_error, next_due_at, closed_at FROM notices \
     WHERE url_id = $1 ORDER BY id";

pub(crate) const NOTICE_BY_ID: &str = "SELECT id, url_id, channel, address, created_at, \
     sends, first_sent_at, last_sent_at, last_error, next_due_at, closed_at FROM notices \
     WHERE id = $1";

/// URLs assessed as abuse without a notice, and not with a partner hotline: `(id, host)`.
pub(crate) const UNNOTICED: &str = "SELECT u.id, u.host FROM reported_urls u \
     WHERE u.state IN ('assessed', 'known') \
     AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.url_id = u.id) \
     AND NOT EXISTS (SELECT 1 FROM url_forwards f WHERE f.url_id = u.id AND f.direction = 'out' \
     AND f.state IN ('sent', 'received', 'assessed', 'noticed')) ORDER BY u.id";

/// Open notices due at `$1`, not claimed, oldest due first.
pub(crate) const DUE_NOTICES: &str = "SELECT id FROM notices \
     WHERE closed_at IS NULL AND next_due_at <= $1 AND claimed_until <= $1 \
     ORDER BY next_due_at, id LIMIT $2";

/// URLs acted on whose re-check is due at `$1`, not claimed (a URL a partner hotline has is
/// its to re-check).
pub(crate) const DUE_RECHECKS: &str = "SELECT id FROM reported_urls u \
     WHERE state IN ('assessed', 'known', 'noticed') AND next_check_at <= $1 \
     AND claimed_until <= $1 \
     AND NOT EXISTS (SELECT 1 FROM url_forwards f WHERE f.url_id = u.id AND f.direction = 'out' \
     AND f.state IN ('sent', 'received', 'assessed', 'noticed')) \
     ORDER BY next_check_at, id LIMIT $2";

pub(crate) fn notice(row: NoticeRow) -> Result<Notice> {
    let (
        id,
        url,
        channel,
        address,
        created_at,
        sends,
        first_sent_at,
        last_sent_at,
        last_error,
        next_due_at,
        closed_at,
    ) = row;
    Ok(Notice {
        id: NoticeId(id),
        url: UrlId(url),
        channel: stored(&channel)?,
        address,
        created_at: Timestamp(created_at),
        sends: u32::try_from(sends).unwrap_or(u32::MAX),
        first_sent_at: first_sent_at.map(Timestamp),
        last_sent_at: last_sent_at.map(Timestamp),
        last_error,
        next_due_at: Timestamp(next_due_at),
        closed_at: closed_at.map(Timestamp),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_cover_their_hosts_and_subdomains() {
        let cases: &[(&str, &str, bool)] = &[
            ("example.org", "example.org", true),
            ("example.org", "cdn.example.org", true),
            ("example.org", "a.b.example.org", true),
            ("example.org", "badexample.org", false),
            ("example.org", "example.org.evil.test", false),
            ("cdn.example.org", "example.org", false),
            ("93.184.215.14", "93.184.215.14", true),
        ];
        for (pattern, host, expected) in cases {
            assert_eq!(covers(pattern, host), *expected, "{pattern} {host}");
        }
        let contact = |id: i64, pattern: &str| HostContact {
            id: ContactId(id),
            pattern: pattern.into(),
            email: Some("abuse@example.org".into()),
            webhook: None,
            created_at: Timestamp(0),
        };
        let contacts = [contact(1, "example.org"), contact(2, "cdn.example.org")];
        let best = |host: &str| contact_for(host, &contacts).map(|c| c.id.0);
        assert_eq!(best("img.cdn.example.org"), Some(2));
        assert_eq!(best("www.example.org"), Some(1));
        assert_eq!(best("other.test"), None);
    }

    #[test]
    fn contacts_are_checked() {
        assert_eq!(pattern(" Example.ORG. ").unwrap(), "example.org");
        for bad in ["", ".example.org", "a..b", "exa mple.org", "a/b"] {
            assert!(pattern(bad).is_err(), "{bad:?}");
        }
        assert!(addresses(Some("abuse@example.org"), None).is_ok());
        assert!(addresses(None, Some("https://hooks.example.org/ward")).is_ok());
        assert!(addresses(None, None).is_err());
        assert!(addresses(Some(" "), Some("")).is_err());
        assert!(addresses(Some("abuse"), None).is_err());
        assert!(addresses(Some("a@b\nBcc: c@d.org"), None).is_err());
        assert!(addresses(None, Some("ftp://example.org/")).is_err());
    }
}
