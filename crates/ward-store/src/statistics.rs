//! The hotline's figures, the same for both backends: the SQL that counts reports, URLs,
//! notices and reports forwarded across borders in a period, and the summary of times to
//! removal (median, 90th percentile, shares removed within 24 hours, 7 days and 42 days).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{Timestamp, UrlState};

/// Reports filed in the period, by country and language: how many, and how many led to
/// action (a URL known, assessed as abuse, noticed or removed).
pub(crate) const BY_PLACE: &str = "SELECT r.country, r.language, COUNT(*), \
     CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM report_urls l JOIN reported_urls u \
     ON u.id = l.url_id WHERE l.report_id = r.id \
     AND u.state IN ('known', 'assessed', 'noticed', 'removed')) THEN 1 ELSE 0 END) AS BIGINT) \
     FROM reports r WHERE r.created_at >= $1 AND r.created_at < $2 \
     GROUP BY r.country, r.language ORDER BY r.country, r.language";

/// URLs first reported in the period, by state.
pub(crate) const URL_STATES: &str = "SELECT state, COUNT(*) FROM reported_urls \
     WHERE first_reported_at >= $1 AND first_reported_at < $2 GROUP BY state ORDER BY state";

/// Notices opened in the period, and how many times they were sent.
pub(crate) const NOTICES: &str = "SELECT COUNT(*), CAST(COALESCE(SUM(sends), 0) AS BIGINT) \
     FROM notices WHERE created_at >= $1 AND created_at < $2";

/// For each URL first noticed in the period: when, and when it was removed (if it was).
pub(crate) const NOTICED: &str = "SELECT MIN(n.first_sent_at), u.removed_at FROM notices n \
     JOIN reported_urls u ON u.id = n.url_id WHERE n.first_sent_at IS NOT NULL \
     GROUP BY u.id, u.removed_at \
     HAVING MIN(n.first_sent_at) >= $1 AND MIN(n.first_sent_at) < $2";

/// Forwards in the period (`crate::forward`): made to partners and received from them (by
/// when), made and given back (by when they came back), and those whose URL was removed, by
/// direction (by when removed).
pub(crate) const FORWARDS: &str = "SELECT \
     CAST(COALESCE(SUM(CASE WHEN direction = 'out' AND created_at >= $1 AND created_at < $2 \
     THEN 1 ELSE 0 END), 0) AS BIGINT), \
     CAST(COALESCE(SUM(CASE WHEN direction = 'in' AND created_at >= $1 AND created_at < $2 \
     THEN 1 ELSE 0 END), 0) AS BIGINT), \
     CAST(COALESCE(SUM(CASE WHEN direction = 'out' \
     AND state IN ('declined', 'disagreed', 'timed_out', 'withdrawn') \
     AND returned_at >= $1 AND returned_at < $2 THEN 1 ELSE 0 END), 0) AS BIGINT), \
     CAST(COALESCE(SUM(CASE WHEN direction = 'out' AND removed_at >= $1 AND removed_at < $2 \
     THEN 1 ELSE 0 END), 0) AS BIGINT), \
     CAST(COALESCE(SUM(CASE WHEN direction = 'in' AND removed_at >= $1 AND removed_at < $2 \
     THEN 1 ELSE 0 END), 0) AS BIGINT) \
     FROM url_forwards";

/// The figures of a period `[from, to)`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Statistics {
    pub from: Timestamp,
    pub to: Timestamp,
    /// Reports by country ("" for the international page) and language.
    pub reports: Vec<PlaceFigures>,
    /// URLs first reported in the period, by where they stand now.
    pub urls: BTreeMap<&'static str, u64>,
    pub notices_opened: u64,
    pub notices_sent: u64,
    pub removal: RemovalFigures,
    /// Reports forwarded across borders.
    pub forwards: ForwardFigures,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlaceFigures {
    pub country: String,
    pub language: String,
    pub received: u64,
    pub actioned: u64,
}

/// Reports forwarded across borders in a period, each counted in this hotline's role.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ForwardFigures {
    /// Forwarded to partner hotlines.
    pub out: u64,
    /// Received from partner hotlines.
    pub received: u64,
    /// Forwarded and given back (declined, disagreed, not acknowledged in time, the partner
    /// removed).
    pub returned: u64,
    /// Forwarded, and the URL removed (as the partner told) in the period.
    pub removed_out: u64,
    /// Received, and the URL removed in the period.
    pub removed_in: u64,
}

/// Times from a URL's first notice to its removal, for the URLs first noticed in a period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RemovalFigures {
    /// URLs first noticed in the period.
    pub noticed: u64,
    /// Of those, removed (so far).
    pub removed: u64,
    /// Median and 90th percentile of the times to removal, in seconds (of the removed).
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
    /// Shares of the noticed URLs removed within 24 hours, 7 days and 42 days of the first
    /// notice (0 to 1).
    pub within_24h: Option<f64>,
    pub within_7d: Option<f64>,
    pub within_42d: Option<f64>,
}

impl RemovalFigures {
    /// The figures of `(first notice, removal)` pairs.
    pub(crate) fn of(pairs: &[(i64, Option<i64>)]) -> RemovalFigures {
        let mut times: Vec<i64> = pairs
            .iter()
            .filter_map(|(noticed, removed)| removed.map(|r| (r - noticed).max(0)))
            .collect();
        times.sort_unstable();
        let noticed = pairs.len();
        let share = |limit_ms: i64| {
            (noticed > 0)
                .then(|| times.iter().filter(|t| **t <= limit_ms).count() as f64 / noticed as f64)
        };
        const HOUR: i64 = 3_600_000;
        RemovalFigures {
            noticed: noticed as u64,
            removed: times.len() as u64,
            median_seconds: percentile(&times, 0.5).map(|ms| ms / 1000.0),
            p90_seconds: percentile(&times, 0.9).map(|ms| ms / 1000.0),
            within_24h: share(24 * HOUR),
            within_7d: share(7 * 24 * HOUR),
            within_42d: share(42 * 24 * HOUR),
        }
    }
}

/// The `p` quantile of sorted values, interpolated linearly between the closest ranks.
fn percentile(sorted: &[i64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = p * (sorted.len() - 1) as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    let weight = rank - low as f64;
    Some(sorted[low] as f64 * (1.0 - weight) + sorted[high] as f64 * weight)
}

/// URL state counts with every state named, zeros included.
pub(crate) fn url_states(rows: Vec<(String, i64)>) -> BTreeMap<&'static str, u64> {
    use UrlState::*;
    let mut counts: BTreeMap<&'static str, u64> = [
        Received,
        Unreachable,
        Refused,
        Known,
        Queued,
        Assessed,
        NotActionable,
        Noticed,
        Removed,
    ]
    .into_iter()
    .map(|s| (s.name(), 0))
    .collect();
    for (state, count) in rows {
        if let Ok(state) = state.parse::<UrlState>() {
            counts.insert(state.name(), u64::try_from(count).unwrap_or(0));
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7], 0.9), Some(7.0));
        assert_eq!(percentile(&[1, 2, 3, 4], 0.5), Some(2.5));
        assert_eq!(
            percentile(&[10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9),
            Some(91.0)
        );
    }

    #[test]
    fn removal_figures() {
        let hour = 3_600_000;
        let day = 24 * hour;
        let pairs = [
            (0, Some(2 * hour)),
            (0, Some(day)),
            (0, Some(3 * day)),
            (0, Some(30 * day)),
            (0, None),
        ];
        let figures = RemovalFigures::of(&pairs);
        assert_eq!((figures.noticed, figures.removed), (5, 4));
        assert_eq!(
            figures.median_seconds,
            Some((day + 3 * day) as f64 / 2.0 / 1000.0)
        );
        assert_eq!(figures.within_24h, Some(0.4));
        assert_eq!(figures.within_7d, Some(0.6));
        assert_eq!(figures.within_42d, Some(0.8));
        let none = RemovalFigures::of(&[]);
        assert_eq!((none.median_seconds, none.within_24h), (None, None));
    }
}
