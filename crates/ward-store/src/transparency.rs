//! Transparency figures by month, for one organisation or the whole deployment: the SQL that
//! reads them (day by day, the same text on both backends except for the SQLite blocks of
//! bulk signals), the months they are bucketed into (UTC), and the matches that `ward serve`
//! nodes tally and add to the store.
//!
//! Every figure is computed from the store. Public reports belong to the deployment; in an
//! organisation's view, reports, notices, removals and their times are those of the URLs its
//! analysts assessed (URLs closed as known content by a bank's hash are the deployment's).
//!
//! Reports that cross borders (`crate::forward`) are counted by each hotline in its own role:
//! the origin counts a forward made (`out`), the partner a forward received (`in`), each once
//! per forward, and both count its removal under their direction, timed from the first report
//! anywhere (the origin's `first_reported_at`, which the partner holds in the forward's origin).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::StoreError;
use crate::model::{BankId, OrgId, Timestamp};
use crate::statistics::RemovalFigures;

/// Milliseconds in a day: the SQL buckets times by `at / DAY`.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// A calendar month (UTC), written `YYYY-MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    /// The month of a timestamp.
    pub fn of(at: Timestamp) -> Month {
        let day = at.day();
        // `day()` is always `YYYY-MM-DD` with digits.
        Month {
            year: day[..4].parse().unwrap_or(1970),
            month: day[5..7].parse().unwrap_or(1),
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    /// The month's number in its year, 1 to 12.
    pub fn number(self) -> u32 {
        self.month
    }

    /// How many months `self` is after `earlier` (negative when it is before).
    pub fn months_after(self, earlier: Month) -> i64 {
        let index = |m: Month| i64::from(m.year) * 12 + i64::from(m.month) - 1;
        index(self) - index(earlier)
    }

    /// The month `count` months before, if it is in year 1 or later.
    pub fn before(self, count: u32) -> Option<Month> {
        let index = i64::from(self.year) * 12 + i64::from(self.month) - 1 - i64::from(count);
        let year = i32::try_from(index.div_euclid(12))
            .ok()
            .filter(|y| *y >= 1)?;
        Some(Month {
            year,
            month: u32::try_from(index.rem_euclid(12)).ok()? + 1,
        })
    }

    /// January of `year`, when the year has four digits.
    pub fn january(year: i32) -> Option<Month> {
        (1..=9999)
            .contains(&year)
            .then_some(Month { year, month: 1 })
    }

    /// December of the same year.
    pub fn december(self) -> Month {
        Month {
            year: self.year,
            month: 12,
        }
    }

    /// The next month.
    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The first day, `YYYY-MM-01`.
    pub fn first_day(self) -> String {
        format!("{self}-01")
    }

    /// 00:00 UTC on the first day.
    pub fn start(self) -> Timestamp {
        Timestamp::of_day(&self.first_day()).unwrap_or(Timestamp(0))
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Month, StoreError> {
        let bad = || StoreError::Invalid(format!("not a month (YYYY-MM): {text:?}"));
        let b = text.as_bytes();
        if b.len() != 7
            || b[4] != b'-'
            || !text[..4]
                .bytes()
                .chain(text[5..].bytes())
                .all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let year: i32 = text[..4].parse().map_err(|_| bad())?;
        let month: u32 = text[5..].parse().map_err(|_| bad())?;
        if year == 0 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// What one node counted of one organisation's matches on one UTC day, added to the store's
/// figures by [`crate::Store::add_match_counts`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchCounts {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// The organisation that asked.
    pub org: OrgId,
    /// Matches per bank.
    pub banks: BTreeMap<BankId, u64>,
    /// Match queries with a match at PDQ distance 0 or of a digest.
    pub known: u64,
    /// Match queries with only other PDQ or vPDQ matches.
    pub near: u64,
    /// Match queries with no match.
    pub novel: u64,
}

impl MatchCounts {
    /// Nothing counted yet for `org` on `day`.
    pub fn new(day: &str, org: OrgId) -> MatchCounts {
        MatchCounts {
            day: day.to_owned(),
            org,
            banks: BTreeMap::new(),
            known: 0,
            near: 0,
            novel: 0,
        }
    }
}

/// The figure names, in the order they are listed.
pub const FIGURES: &[&str] = &[
    "contributed",
    "consumed",
    "matches",
    "queries",
    "novel_share",
    "opinions_sent",
    "opinions_received",
    "reports_received",
    "reports_actioned",
    "notices_sent",
    "renotices",
    "removals",
    "removal_median_seconds",
    "removal_p90_seconds",
    "forwards_out",
    "forwards_received",
    "forwards_returned",
    "forward_removals",
    "forward_removal_median_seconds",
    "forward_removal_p90_seconds",
    "exposure_hours",
    "self_reports_opened",
    "self_reports_withdrawn",
    "self_report_hashes",
    "self_report_matches",
];

/// One figure of one month: `figure` names what is counted (one of [`FIGURES`]), `key` which
/// part of it (a signal type and source, a bank, a country and language; empty for a figure
/// with one value).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figure {
    pub month: Month,
    pub figure: &'static str,
    pub key: String,
    pub value: f64,
}

impl Figure {
    /// The value as CSV and the pages print it (integers without a decimal point).
    pub fn value_text(&self) -> String {
        format!("{}", self.value)
    }
}

/// The transparency figures of `[from, to]` (whole months), for an organisation or, with
/// `org` `None`, the deployment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transparency {
    pub org: Option<OrgId>,
    pub from: Month,
    pub to: Month,
    /// Every month of the period, in order.
    pub months: Vec<Month>,
    /// By month, then in the order of [`FIGURES`], then by key.
    pub figures: Vec<Figure>,
}

impl Transparency {
    /// The figures of one name, by month and key.
    pub fn figure(&self, name: &str) -> impl Iterator<Item = &Figure> {
        self.figures.iter().filter(move |f| f.figure == name)
    }

    /// The sum of a figure over the period, by key.
    pub fn totals(&self, name: &str) -> BTreeMap<String, f64> {
        let mut totals = BTreeMap::new();
        for f in self.figure(name) {
            *totals.entry(f.key.clone()).or_insert(0.0) += f.value;
        }
        totals
    }
}

/// Signals added to banks (by their items' addition), by day, type and source: rows of the
/// content table. `$3` is the organisation owning the banks, or 0 for all.
pub(crate) const SIGNALS_ADDED: &str = "SELECT c.added_at / 86400000, s.kind, c.source, COUNT(*) \
     FROM signals s JOIN content c ON c.id = s.content_id JOIN banks b ON b.id = c.bank_id \
     WHERE c.added_at >= $1 AND c.added_at < $2 AND ($3 = 0 OR b.org_id = $3) \
     GROUP BY 1, 2, 3";

/// The same on SQLite, with the items kept in blocks (less those given rows of their own,
/// which the first part counts).
pub(crate) const SIGNALS_ADDED_WITH_BLOCKS: &str = "SELECT c.added_at / 86400000, s.kind, c.source, COUNT(*) \
     FROM signals s JOIN content c ON c.id = s.content_id JOIN banks b ON b.id = c.bank_id \
     WHERE c.added_at >= $1 AND c.added_at < $2 AND ($3 = 0 OR b.org_id = $3) \
     GROUP BY 1, 2, 3 \
     UNION ALL \
     SELECT k.added_at / 86400000, k.kind, k.source, SUM(k.count - (SELECT COUNT(*) FROM content c \
     WHERE c.id >= k.first_content AND c.id < k.first_content + k.count)) \
     FROM content_blocks k JOIN banks b ON b.id = k.bank_id \
     WHERE k.added_at >= $1 AND k.added_at < $2 AND ($3 = 0 OR b.org_id = $3) \
     GROUP BY 1, 2, 3";

/// Opinions given (their latest form, on items not removed), by day and kind.
pub(crate) const OPINIONS_SENT: &str = "SELECT o.at / 86400000, o.kind, COUNT(*) \
     FROM opinions o JOIN content c ON c.id = o.content_id \
     WHERE o.at >= $1 AND o.at < $2 AND c.removed_at IS NULL AND ($3 = 0 OR o.org_id = $3) \
     GROUP BY 1, 2";

/// Opinions of other organisations on items of an organisation's banks, by day and kind.
pub(crate) const OPINIONS_RECEIVED: &str = "SELECT o.at / 86400000, o.kind, COUNT(*) \
     FROM opinions o JOIN content c ON c.id = o.content_id JOIN banks b ON b.id = c.bank_id \
     WHERE o.at >= $1 AND o.at < $2 AND c.removed_at IS NULL AND o.org_id <> b.org_id \
     AND ($3 = 0 OR b.org_id = $3) GROUP BY 1, 2";

/// Whether reported URL `u` is the organisation `$3`'s (assessed by one of its analysts), or
/// `$3` is 0.
const URL_OF_ORG: &str = "($3 = 0 OR u.assessed_by IN (SELECT id FROM users WHERE org_id = $3))";

/// Reports filed, by day, country and language: how many, and how many led to action.
pub(crate) fn reports() -> String {
    format!(
        "SELECT r.created_at / 86400000, r.country, r.language, COUNT(*), \
         CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM report_urls l JOIN reported_urls u \
         ON u.id = l.url_id WHERE l.report_id = r.id \
         AND u.state IN ('known', 'assessed', 'noticed', 'removed') AND {URL_OF_ORG}) \
         THEN 1 ELSE 0 END) AS BIGINT) \
         FROM reports r WHERE r.created_at >= $1 AND r.created_at < $2 \
         AND ($3 = 0 OR EXISTS (SELECT 1 FROM report_urls l JOIN reported_urls u \
         ON u.id = l.url_id WHERE l.report_id = r.id AND {URL_OF_ORG})) \
         GROUP BY 1, 2, 3"
    )
}

/// Notices sent (every send, from the audit log), by day.
pub(crate) fn notice_sends() -> String {
    format!(
        "SELECT a.at / 86400000, COUNT(*) FROM audit_log a \
         WHERE a.action = 'notice.send' AND a.detail LIKE '%\"sent\":true%' \
         AND a.at >= $1 AND a.at < $2 \
         AND ($3 = 0 OR a.target IN (SELECT 'url:' || CAST(u.id AS TEXT) FROM reported_urls u \
         WHERE {URL_OF_ORG})) GROUP BY 1"
    )
}

/// Notices sent for the first time, by day.
pub(crate) fn first_sends() -> String {
    format!(
        "SELECT n.first_sent_at / 86400000, COUNT(*) FROM notices n \
         JOIN reported_urls u ON u.id = n.url_id \
         WHERE n.first_sent_at >= $1 AND n.first_sent_at < $2 AND {URL_OF_ORG} GROUP BY 1"
    )
}

/// URLs removed in the period after a notice: when removed, and when first noticed.
pub(crate) fn removals() -> String {
    format!(
        "SELECT u.removed_at, MIN(n.first_sent_at) FROM notices n \
         JOIN reported_urls u ON u.id = n.url_id \
         WHERE n.first_sent_at IS NOT NULL AND u.removed_at >= $1 AND u.removed_at < $2 \
         AND {URL_OF_ORG} GROUP BY u.id, u.removed_at"
    )
}

/// Forwards made (`out`) and received (`in`), by day, direction and hosting country.
pub(crate) fn forwards() -> String {
    format!(
        "SELECT f.created_at / 86400000, f.direction, f.country, COUNT(*) FROM url_forwards f \
         JOIN reported_urls u ON u.id = f.url_id \
         WHERE f.created_at >= $1 AND f.created_at < $2 AND {URL_OF_ORG} GROUP BY 1, 2, 3"
    )
}

/// Forwards made that came back (declined, disagreed, not acknowledged in time, the partner
/// removed), by the day
/// they came back and why (the forward's state).
pub(crate) fn forwards_returned() -> String {
    format!(
        "SELECT f.returned_at / 86400000, f.state, COUNT(*) FROM url_forwards f \
         JOIN reported_urls u ON u.id = f.url_id \
         WHERE f.direction = 'out' AND f.state IN ('declined', 'disagreed', 'timed_out', 'withdrawn') \
         AND f.returned_at >= $1 AND f.returned_at < $2 AND {URL_OF_ORG} GROUP BY 1, 2"
    )
}

/// Forwards whose URL was removed in the period: the direction, when removed, the URL's first
/// report here and the origin's text (an `in` forward's, which has the origin's first report).
pub(crate) fn forward_removals() -> String {
    format!(
        "SELECT f.direction, f.removed_at, u.first_reported_at, f.origin FROM url_forwards f \
         JOIN reported_urls u ON u.id = f.url_id \
         WHERE f.removed_at >= $1 AND f.removed_at < $2 AND {URL_OF_ORG}"
    )
}

/// When the origin of an `in` forward first had the URL reported, from the origin's text
/// (`None` when it does not read).
fn origin_first_reported(origin: Option<&str>) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct FirstReported {
        first_reported_at: Timestamp,
    }
    serde_json::from_str::<FirstReported>(origin?)
        .ok()
        .map(|o| o.first_reported_at.0)
}

/// Seconds of exposure by day (`$1`, `$2`: days `YYYY-MM-DD`), of the organisation's users.
pub(crate) const EXPOSURE: &str = "SELECT e.day, CAST(SUM(e.seconds) AS BIGINT) \
     FROM exposures e JOIN users us ON us.id = e.user_id \
     WHERE e.day >= $1 AND e.day < $2 AND ($3 = 0 OR us.org_id = $3) GROUP BY e.day";

/// Matches asked by the organisation, by day and bank (`$1`, `$2`: days).
pub(crate) const MATCHES: &str = "SELECT t.day, b.name, CAST(SUM(t.matches) AS BIGINT) \
     FROM match_counts t JOIN banks b ON b.id = t.bank_id \
     WHERE t.day >= $1 AND t.day < $2 AND ($3 = 0 OR t.org_id = $3) GROUP BY t.day, b.name";

/// Match queries of the organisation, by day and outcome (`$1`, `$2`: days).
pub(crate) const QUERIES: &str = "SELECT day, outcome, CAST(SUM(queries) AS BIGINT) \
     FROM match_queries WHERE day >= $1 AND day < $2 AND ($3 = 0 OR org_id = $3) \
     GROUP BY day, outcome";

/// Self-report cases opened in the organisation's banks, by day and country.
pub(crate) const SELF_REPORTS_OPENED: &str = "SELECT s.opened_at / 86400000, s.country, COUNT(*) \
     FROM self_reports s JOIN banks b ON b.id = s.bank_id \
     WHERE s.opened_at >= $1 AND s.opened_at < $2 AND ($3 = 0 OR b.org_id = $3) GROUP BY 1, 2";

/// Self-report cases withdrawn, by day and country.
pub(crate) const SELF_REPORTS_WITHDRAWN: &str = "SELECT s.withdrawn_at / 86400000, s.country, \
     COUNT(*) FROM self_reports s JOIN banks b ON b.id = s.bank_id \
     WHERE s.withdrawn_at >= $1 AND s.withdrawn_at < $2 AND ($3 = 0 OR b.org_id = $3) \
     GROUP BY 1, 2";

/// Hashes sent by self-reports, by day and signal type (a self-report's items always have
/// rows of their own: their country attribute keeps them out of SQLite's blocks).
pub(crate) const SELF_REPORT_HASHES: &str = "SELECT l.added_at / 86400000, g.kind, COUNT(*) \
     FROM self_report_content l JOIN signals g ON g.content_id = l.content_id \
     JOIN self_reports s ON s.id = l.self_report_id JOIN banks b ON b.id = s.bank_id \
     WHERE l.added_at >= $1 AND l.added_at < $2 AND ($3 = 0 OR b.org_id = $3) GROUP BY 1, 2";

/// Matches that any organisation (a platform) found in the organisation's self-report banks,
/// by day and bank (`$1`, `$2`: days).
pub(crate) const SELF_REPORT_MATCHES: &str = "SELECT t.day, b.name, CAST(SUM(t.matches) AS BIGINT) \
     FROM match_counts t JOIN banks b ON b.id = t.bank_id \
     WHERE b.kind = 'self_report' AND t.day >= $1 AND t.day < $2 \
     AND ($3 = 0 OR b.org_id = $3) GROUP BY t.day, b.name";

/// Adds a node's count of matches to a bank.
pub(crate) const ADD_MATCHES: &str = "INSERT INTO match_counts (day, org_id, bank_id, matches) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (day, org_id, bank_id) \
     DO UPDATE SET matches = match_counts.matches + excluded.matches";

/// Adds a node's count of queries with an outcome.
pub(crate) const ADD_QUERIES: &str = "INSERT INTO match_queries (day, org_id, outcome, queries) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (day, org_id, outcome) \
     DO UPDATE SET queries = match_queries.queries + excluded.queries";

/// The rows the queries read, before they are put in months.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    /// (day number, signal type, source, signals)
    pub signals: Vec<(i64, String, String, i64)>,
    /// (day, bank name, matches)
    pub matches: Vec<(String, String, i64)>,
    /// (day, outcome, queries)
    pub queries: Vec<(String, String, i64)>,
    /// (day number, kind, opinions)
    pub opinions_sent: Vec<(i64, String, i64)>,
    pub opinions_received: Vec<(i64, String, i64)>,
    /// (day number, country, language, received, actioned)
    pub reports: Vec<(i64, String, String, i64, i64)>,
    /// (day number, sends)
    pub sends: Vec<(i64, i64)>,
    pub first_sends: Vec<(i64, i64)>,
    /// (removed at, first notice)
    pub removals: Vec<(i64, i64)>,
    /// (day number, direction, country, forwards)
    pub forwards: Vec<(i64, String, String, i64)>,
    /// (day number, state, forwards)
    pub forwards_returned: Vec<(i64, String, i64)>,
    /// (direction, removed at, the URL's first report, the origin's text)
    pub forward_removals: Vec<(String, i64, i64, Option<String>)>,
    /// (day, seconds)
    pub exposure: Vec<(String, i64)>,
    /// (day number, country, cases)
    pub self_reports_opened: Vec<(i64, String, i64)>,
    pub self_reports_withdrawn: Vec<(i64, String, i64)>,
    /// (day number, signal type, hashes)
    pub self_report_hashes: Vec<(i64, String, i64)>,
    /// (day, bank name, matches)
    pub self_report_matches: Vec<(String, String, i64)>,
}

/// (start, removal) pairs as `RemovalFigures::of` reads them.
type RemovalPairs = Vec<(i64, Option<i64>)>;

/// Puts the rows in months: every month of `[from, to]`, each figure summed by key.
pub(crate) fn assemble(org: Option<OrgId>, from: Month, to: Month, rows: Rows) -> Transparency {
    let mut months = Vec::new();
    let mut month = from;
    while month <= to {
        months.push(month);
        month = month.next();
    }
    let of_day_number = |d: i64| Month::of(Timestamp(d * DAY_MS));
    let of_day = |day: &str| day.parse::<DayText>().map(|d| d.0);
    let count = |n: i64| u64::try_from(n).unwrap_or(0) as f64;
    // (month, figure index, key) -> value
    let mut sums: BTreeMap<(Month, usize, String), f64> = BTreeMap::new();
    let index = |name: &str| FIGURES.iter().position(|f| *f == name).unwrap_or(0);
    let mut add = |month: Month, name: &str, key: String, value: f64| {
        *sums.entry((month, index(name), key)).or_insert(0.0) += value;
    };
    for (day, kind, source, n) in rows.signals {
        let month = of_day_number(day);
        match source.strip_prefix("sync:") {
            Some(partner) => add(month, "consumed", format!("{kind}/{partner}"), count(n)),
            None => {
                let source = source.split(':').next().unwrap_or_default();
                add(month, "contributed", format!("{kind}/{source}"), count(n));
            }
        }
    }
    for (day, bank, n) in rows.matches {
        if let Ok(month) = of_day(&day) {
            add(month, "matches", bank, count(n));
        }
    }
    let mut queries: BTreeMap<Month, (f64, f64)> = BTreeMap::new();
    for (day, outcome, n) in rows.queries {
        if let Ok(month) = of_day(&day) {
            add(month, "queries", outcome.clone(), count(n));
            let (novel, all) = queries.entry(month).or_default();
            *all += count(n);
            if outcome == "novel" {
                *novel += count(n);
            }
        }
    }
    for (month, (novel, all)) in queries {
        if all > 0.0 {
            add(month, "novel_share", String::new(), round(novel / all, 4));
        }
    }
    for (day, kind, n) in rows.opinions_sent {
        add(of_day_number(day), "opinions_sent", kind, count(n));
    }
    for (day, kind, n) in rows.opinions_received {
        add(of_day_number(day), "opinions_received", kind, count(n));
    }
    for (day, country, language, received, actioned) in rows.reports {
        let country = if country.is_empty() {
            "international".to_owned()
        } else {
            country
        };
        let key = format!("{country}/{language}");
        let month = of_day_number(day);
        add(month, "reports_received", key.clone(), count(received));
        add(month, "reports_actioned", key, count(actioned));
    }
    for (day, country, n) in rows.self_reports_opened {
        add(of_day_number(day), "self_reports_opened", country, count(n));
    }
    for (day, country, n) in rows.self_reports_withdrawn {
        add(
            of_day_number(day),
            "self_reports_withdrawn",
            country,
            count(n),
        );
    }
    for (day, kind, n) in rows.self_report_hashes {
        add(of_day_number(day), "self_report_hashes", kind, count(n));
    }
    for (day, bank, n) in rows.self_report_matches {
        if let Ok(month) = of_day(&day) {
            add(month, "self_report_matches", bank, count(n));
        }
    }
    // Scalar figures: every month has them, zeros included.
    let mut sends: BTreeMap<Month, (u64, u64)> = months.iter().map(|m| (*m, (0, 0))).collect();
    for (day, n) in rows.sends {
        if let Some(s) = sends.get_mut(&of_day_number(day)) {
            s.0 += u64::try_from(n).unwrap_or(0);
        }
    }
    for (day, n) in rows.first_sends {
        if let Some(s) = sends.get_mut(&of_day_number(day)) {
            s.1 += u64::try_from(n).unwrap_or(0);
        }
    }
    for (month, (all, first)) in sends {
        add(month, "notices_sent", String::new(), first as f64);
        add(
            month,
            "renotices",
            String::new(),
            all.saturating_sub(first) as f64,
        );
    }
    let mut removals: BTreeMap<Month, Vec<(i64, Option<i64>)>> =
        months.iter().map(|m| (*m, Vec::new())).collect();
    for (removed, noticed) in rows.removals {
        if let Some(pairs) = removals.get_mut(&Month::of(Timestamp(removed))) {
            pairs.push((noticed, Some(removed)));
        }
    }
    for (month, pairs) in removals {
        let figures = RemovalFigures::of(&pairs);
        add(month, "removals", String::new(), figures.removed as f64);
        if let Some(median) = figures.median_seconds {
            add(
                month,
                "removal_median_seconds",
                String::new(),
                round(median, 3),
            );
        }
        if let Some(p90) = figures.p90_seconds {
            add(month, "removal_p90_seconds", String::new(), round(p90, 3));
        }
    }
    for (day, direction, country, n) in rows.forwards {
        let figure = match direction.as_str() {
            "out" => "forwards_out",
            "in" => "forwards_received",
            _ => continue,
        };
        add(of_day_number(day), figure, country, count(n));
    }
    for (day, why, n) in rows.forwards_returned {
        add(of_day_number(day), "forwards_returned", why, count(n));
    }
    // By month and direction: (first report, removal) of each forward removed, the removal
    // `None` when the first report does not read (counted, not timed).
    let mut forward_removals: BTreeMap<(Month, String), RemovalPairs> = BTreeMap::new();
    for (direction, removed, first_here, origin) in rows.forward_removals {
        let first = match direction.as_str() {
            "out" => Some(first_here),
            "in" => origin_first_reported(origin.as_deref()),
            _ => continue,
        };
        forward_removals
            .entry((Month::of(Timestamp(removed)), direction))
            .or_default()
            .push(first.map_or((removed, None), |first| (first, Some(removed))));
    }
    for ((month, direction), pairs) in forward_removals {
        let figures = RemovalFigures::of(&pairs);
        add(
            month,
            "forward_removals",
            direction.clone(),
            pairs.len() as f64,
        );
        if let Some(median) = figures.median_seconds {
            add(
                month,
                "forward_removal_median_seconds",
                direction.clone(),
                round(median, 3),
            );
        }
        if let Some(p90) = figures.p90_seconds {
            add(
                month,
                "forward_removal_p90_seconds",
                direction,
                round(p90, 3),
            );
        }
    }
    let mut exposure: BTreeMap<Month, f64> = months.iter().map(|m| (*m, 0.0)).collect();
    for (day, seconds) in rows.exposure {
        if let Ok(month) = of_day(&day)
            && let Some(total) = exposure.get_mut(&month)
        {
            *total += count(seconds);
        }
    }
    for (month, seconds) in exposure {
        add(
            month,
            "exposure_hours",
            String::new(),
            round(seconds / 3600.0, 2),
        );
    }
    let figures = sums
        .into_iter()
        .filter(|((month, _, _), _)| *month >= from && *month <= to)
        .map(|((month, figure, key), value)| Figure {
            month,
            figure: FIGURES[figure],
            key,
            value,
        })
        .collect();
    Transparency {
        org,
        from,
        to,
        months,
        figures,
    }
}

/// `value` to `places` decimal places.
fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// A day as the tally and exposure tables write it, `YYYY-MM-DD`, read for its month.
struct DayText(Month);

impl FromStr for DayText {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<DayText, StoreError> {
        Timestamp::of_day(text)
            .map(|t| DayText(Month::of(t)))
            .ok_or_else(|| StoreError::Invalid(format!("not a day: {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_print_and_step() {
        let m: Month = "2026-12".parse().unwrap();
        assert_eq!(m.to_string(), "2026-12");
        assert_eq!(m.next().to_string(), "2027-01");
        assert_eq!(m.before(11).unwrap().to_string(), "2026-01");
        assert_eq!(m.before(12).unwrap().to_string(), "2025-12");
        assert_eq!(m.next().months_after(m.before(1).unwrap()), 2);
        assert_eq!("0001-01".parse::<Month>().unwrap().before(1), None);
        assert_eq!(m.start(), Timestamp::of_day("2026-12-01").unwrap());
        assert_eq!(
            Month::of(Timestamp::of_day("2026-02-28").unwrap()).to_string(),
            "2026-02"
        );
        for bad in [
            "2026-13", "2026-00", "2026-1", "26-01", "2026/01", "+026-01", "0000-01", "",
        ] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
    }

    #[test]
    fn rows_become_monthly_figures() {
        let jan: Month = "2026-01".parse().unwrap();
        let feb = jan.next();
        let day = |text: &str| Timestamp::of_day(text).unwrap().0 / DAY_MS;
        let rows = Rows {
            signals: vec![
                (day("2026-01-03"), "pdq".into(), "api".into(), 2),
                (day("2026-01-09"), "pdq".into(), "import:list.csv".into(), 3),
                (day("2026-02-01"), "md5".into(), "sync:north".into(), 4),
            ],
            queries: vec![
                ("2026-01-05".into(), "novel".into(), 1),
                ("2026-01-06".into(), "known".into(), 3),
            ],
            exposure: vec![("2026-02-10".into(), 5400)],
            sends: vec![(day("2026-01-10"), 3)],
            first_sends: vec![(day("2026-01-10"), 1)],
            self_reports_opened: vec![(day("2026-01-04"), "ma".into(), 2)],
            self_reports_withdrawn: vec![(day("2026-02-04"), "ma".into(), 1)],
            self_report_hashes: vec![(day("2026-01-04"), "md5".into(), 3)],
            self_report_matches: vec![("2026-02-05".into(), "Self-reports".into(), 7)],
            ..Rows::default()
        };
        let t = assemble(None, jan, feb, rows);
        assert_eq!(t.months, [jan, feb]);
        let get = |month: Month, figure: &str, key: &str| {
            t.figures
                .iter()
                .find(|f| f.month == month && f.figure == figure && f.key == key)
                .map(|f| f.value)
        };
        assert_eq!(get(jan, "contributed", "pdq/api"), Some(2.0));
        assert_eq!(get(jan, "contributed", "pdq/import"), Some(3.0));
        assert_eq!(get(feb, "consumed", "md5/north"), Some(4.0));
        assert_eq!(get(jan, "novel_share", ""), Some(0.25));
        assert_eq!(get(jan, "notices_sent", ""), Some(1.0));
        assert_eq!(get(jan, "renotices", ""), Some(2.0));
        assert_eq!(get(feb, "exposure_hours", ""), Some(1.5));
        assert_eq!(get(feb, "removals", ""), Some(0.0));
        assert_eq!(get(feb, "removal_median_seconds", ""), None);
        assert_eq!(get(jan, "self_reports_opened", "ma"), Some(2.0));
        assert_eq!(get(feb, "self_reports_withdrawn", "ma"), Some(1.0));
        assert_eq!(get(jan, "self_report_hashes", "md5"), Some(3.0));
        assert_eq!(get(feb, "self_report_matches", "Self-reports"), Some(7.0));
        assert_eq!(t.totals("contributed")["pdq/api"], 2.0);
    }

    #[test]
    fn forwards_are_counted_in_their_role_and_timed_from_the_first_report() {
        let jan: Month = "2026-01".parse().unwrap();
        let feb = jan.next();
        let at = |text: &str| Timestamp::of_day(text).unwrap().0;
        let day = |text: &str| at(text) / DAY_MS;
        const HOUR: i64 = 3_600_000;
        // The origin's own words of an `in` forward, as the partner keeps them.
        let origin = |first_reported_at: i64| {
            serde_json::to_string(&crate::forward::ForwardOrigin {
                reference: "17".into(),
                assessment: None,
                assessed_by: "analyst".into(),
                signals: Vec::new(),
                sha256: None,
                media_type: None,
                first_reported_at: Timestamp(first_reported_at),
                assessed_at: None,
            })
            .unwrap()
        };
        let rows = Rows {
            forwards: vec![
                (day("2026-01-03"), "out".into(), "BE".into(), 2),
                (day("2026-01-20"), "out".into(), "BE".into(), 1),
                (day("2026-01-21"), "out".into(), "NL".into(), 1),
                (day("2026-02-02"), "in".into(), "FR".into(), 3),
                (day("2026-02-03"), "sideways".into(), "FR".into(), 9),
            ],
            forwards_returned: vec![
                (day("2026-01-10"), "declined".into(), 1),
                (day("2026-02-01"), "timed_out".into(), 2),
                (day("2026-02-11"), "disagreed".into(), 1),
            ],
            forward_removals: vec![
                // Out: from this hotline's first report, one and two hours.
                (
                    "out".into(),
                    at("2026-01-05") + HOUR,
                    at("2026-01-05"),
                    None,
                ),
                (
                    "out".into(),
                    at("2026-01-09") + 2 * HOUR,
                    at("2026-01-09"),
                    None,
                ),
                // In: from the origin's first report (a day before), not from when the
                // forward arrived here (an hour before).
                (
                    "in".into(),
                    at("2026-02-10"),
                    at("2026-02-10") - HOUR,
                    Some(origin(at("2026-02-09"))),
                ),
                // An origin that does not read: removed, but not timed (not from the ten
                // hours since it arrived here either).
                (
                    "in".into(),
                    at("2026-02-12"),
                    at("2026-02-12") - 10 * HOUR,
                    Some("{".into()),
                ),
            ],
            ..Rows::default()
        };
        let t = assemble(None, jan, feb, rows);
        let get = |month: Month, figure: &str, key: &str| {
            t.figures
                .iter()
                .find(|f| f.month == month && f.figure == figure && f.key == key)
                .map(|f| f.value)
        };
        assert_eq!(get(jan, "forwards_out", "BE"), Some(3.0));
        assert_eq!(get(jan, "forwards_out", "NL"), Some(1.0));
        assert_eq!(get(jan, "forwards_received", "BE"), None);
        assert_eq!(get(feb, "forwards_received", "FR"), Some(3.0));
        assert_eq!(get(feb, "forwards_out", "FR"), None);
        assert_eq!(get(jan, "forwards_returned", "declined"), Some(1.0));
        assert_eq!(get(feb, "forwards_returned", "timed_out"), Some(2.0));
        assert_eq!(get(feb, "forwards_returned", "disagreed"), Some(1.0));
        assert_eq!(get(jan, "forward_removals", "out"), Some(2.0));
        assert_eq!(get(jan, "forward_removals", "in"), None);
        assert_eq!(get(feb, "forward_removals", "in"), Some(2.0));
        assert_eq!(
            get(jan, "forward_removal_median_seconds", "out"),
            Some(5400.0)
        );
        assert_eq!(get(jan, "forward_removal_p90_seconds", "out"), Some(6840.0));
        assert_eq!(
            get(feb, "forward_removal_median_seconds", "in"),
            Some(86_400.0)
        );
        assert_eq!(
            get(feb, "forward_removal_p90_seconds", "in"),
            Some(86_400.0)
        );
        assert_eq!(get(feb, "forward_removal_median_seconds", "out"), None);
        // The figures keep FIGURES' order.
        assert_eq!(t.totals("forwards_out").values().sum::<f64>(), 4.0);
        let order: Vec<usize> = t
            .figures
            .iter()
            .filter(|f| f.month == feb)
            .map(|f| FIGURES.iter().position(|n| *n == f.figure).unwrap())
            .collect();
        assert!(order.is_sorted(), "{order:?}");
    }
}
