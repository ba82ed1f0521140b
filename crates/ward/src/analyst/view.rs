//! What every analyst's page shows the same way: the header (who is signed in, their
//! exposure today, the CSRF token of their forms), ages and durations in few characters, a
//! URL's match state, and the fields of a posted form.

use ward_store::{ReportedUrl, Store as _, Timestamp, UrlState};

use super::error::PageError;
use super::session::{Analyst, today};
use crate::serve::SharedState;

/// The header of every page of a signed-in analyst.
#[derive(Debug)]
pub struct Header {
    pub name: String,
    pub role: &'static str,
    /// Today's exposure, as people read it (`12 min 05 s`).
    pub exposure: String,
    pub exposure_seconds: u64,
    pub csrf: String,
}

impl Header {
    pub async fn of(state: &SharedState, analyst: &Analyst) -> Result<Header, PageError> {
        let seconds = state.store.exposure(analyst.user.id, &today()).await?;
        Ok(Header {
            name: analyst.user.name.clone(),
            role: analyst.user.role.name(),
            exposure: duration(seconds),
            exposure_seconds: seconds,
            csrf: analyst.csrf(),
        })
    }
}

/// A length of time in seconds as people read it: `0 s`, `45 s`, `12 min 05 s`,
/// `1 h 02 min`.
pub fn duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} min {s:02} s"),
        _ => format!("{h} h {m:02} min"),
    }
}

/// How long ago `since` was at `now`, in one unit: `5 min`, `3 h`, `2 d`.
pub fn age(since: Timestamp, now: Timestamp) -> String {
    let seconds = (now.0 - since.0).max(0) / 1000;
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min", seconds / 60),
        3600..172_800 => format!("{} h", seconds / 3600),
        _ => format!("{} d", seconds / 86_400),
    }
}

/// The match state of a URL, and the style class it is shown with: known content (a bank
/// held it), novel (fetched, matched nothing), or not fetched yet.
pub fn match_state(url: &ReportedUrl) -> (&'static str, &'static str) {
    if url.matched.is_some() || url.state == UrlState::Known {
        ("known", "known")
    } else if url.related.is_some() {
        ("matched, not assessed", "related")
    } else if url.fetched_at.is_some() && url.sha256.is_some() {
        ("novel", "novel")
    } else {
        ("not fetched", "none")
    }
}

/// A series as people read it: the id its links carry, and the number a page shows,
/// counted from 1 (the engine counts series from 0, and "#0" reads as "none").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeriesNumber {
    pub id: i64,
    pub number: i64,
}

impl SeriesNumber {
    pub fn of(id: i64) -> SeriesNumber {
        SeriesNumber { id, number: id + 1 }
    }

    /// The series a person names by the number a page showed them.
    pub fn parse(text: &str) -> Option<SeriesNumber> {
        text.trim()
            .trim_start_matches('#')
            .parse::<i64>()
            .ok()
            .filter(|number| *number >= 1)
            .map(|number| SeriesNumber::of(number - 1))
    }
}

/// The fields of a posted form (`application/x-www-form-urlencoded`).
#[derive(Debug)]
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    pub fn parse(body: &[u8]) -> FormFields {
        FormFields(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// A field's first value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of a field (the ticked boxes of a list), in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_shortly() {
        let check = |seconds: u64, text: &str| assert_eq!(duration(seconds), text);
        check(0, "0 s");
        check(45, "45 s");
        check(60, "1 min 00 s");
        check(725, "12 min 05 s");
        check(3600, "1 h 00 min");
        check(3725, "1 h 02 min");
        check(90_000, "25 h 00 min");
    }

    #[test]
    fn ages_read_in_one_unit() {
        let check = |ms: i64, text: &str| assert_eq!(age(Timestamp(0), Timestamp(ms)), text);
        check(-5000, "0 s");
        check(59_999, "59 s");
        check(60_000, "1 min");
        check(3_599_000, "59 min");
        check(3_600_000, "1 h");
        check(47 * 3_600_000, "47 h");
        check(48 * 3_600_000, "2 d");
        check(30 * 86_400_000, "30 d");
    }

    #[test]
    fn series_are_numbered_from_one() {
        let check = |text: &str, id: Option<i64>| {
            assert_eq!(SeriesNumber::parse(text).map(|s| s.id), id, "{text:?}");
        };
        check("1", Some(0));
        check(" #12 ", Some(11));
        check("0", None);
        check("-1", None);
        check("x", None);
        assert_eq!(SeriesNumber::of(0).number, 1);
        assert_eq!(SeriesNumber::parse("7").map(|s| s.number), Some(7));
    }

    #[test]
    fn forms_give_their_first_values() {
        let form = FormFields::parse(b"csrf=ab&note=not+there%21&note=again&empty=");
        assert_eq!(form.get("csrf"), Some("ab"));
        assert_eq!(form.get("note"), Some("not there!"));
        assert_eq!(form.get("empty"), Some(""));
        assert_eq!(form.get("missing"), None);
        assert_eq!(
            form.all("note").collect::<Vec<_>>(),
            ["not there!", "again"]
        );
        assert_eq!(form.all("missing").count(), 0);
    }
}
