//! The hotline's figures over HTTP: `GET /v1/statistics` (JSON or CSV: reports received
//! and actioned by country and language, URLs by state, notices, times to removal, reports
//! forwarded across borders) and
//! `GET /v1/statistics/{chart}.svg`, charts drawn on the server as SVG (no chart library in
//! the browser), each with a title and a description for screen readers.

use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;
use ward_store::{Role, Statistics, Store, Timestamp};

use super::SharedState;
use super::auth::Caller;
use super::charts::bars;
use super::error::{ApiError, ApiResult};

/// Roles that read the figures.
const READERS: &[Role] = &[Role::Auditor, Role::Analyst, Role::Curator];

#[derive(Debug, Deserialize)]
pub struct PeriodRequest {
    /// The first day (`YYYY-MM-DD`, UTC); 30 days before `to` by default.
    from: Option<String>,
    /// The day after the last (`YYYY-MM-DD`); tomorrow by default.
    to: Option<String>,
    /// `json` (the default) or `csv`.
    format: Option<String>,
}

impl PeriodRequest {
    pub fn from(&self) -> Option<&str> {
        self.from.as_deref()
    }

    pub fn to(&self) -> Option<&str> {
        self.to.as_deref()
    }
}

/// The period a request asks for: `[from, to)`.
pub fn period(from: Option<&str>, to: Option<&str>) -> ApiResult<(Timestamp, Timestamp)> {
    let day = |text: &str| {
        Timestamp::of_day(text)
            .ok_or_else(|| ApiError::bad_request(format!("not a day (YYYY-MM-DD): {text:?}")))
    };
    const DAY: i64 = 86_400_000;
    let to = match to {
        Some(text) => day(text)?,
        None => Timestamp(Timestamp::of_day(&Timestamp::now().day()).map_or(0, |t| t.0) + DAY),
    };
    let from = match from {
        Some(text) => day(text)?,
        None => Timestamp(to.0 - 30 * DAY),
    };
    if from >= to {
        return Err(ApiError::bad_request(
            "the period is empty (from is not before to)",
        ));
    }
    Ok((from, to))
}

/// `GET /v1/statistics?from=&to=&format=json|csv`.
pub async fn statistics(
    State(state): State<SharedState>,
    caller: Caller,
    Query(request): Query<PeriodRequest>,
) -> ApiResult<Response> {
    caller.require(READERS)?;
    let (from, to) = period(request.from.as_deref(), request.to.as_deref())?;
    let figures = state.store.statistics(from, to).await?;
    match request.format.as_deref().unwrap_or("json") {
        "json" => {
            let body = serde_json::to_vec(&json_view(&figures))
                .map_err(|e| ApiError::internal(e.to_string()))?;
            Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
        }
        "csv" => Ok((
            [
                (CONTENT_TYPE, "text/csv; charset=utf-8"),
                (CACHE_CONTROL, "no-store"),
            ],
            csv(&figures),
        )
            .into_response()),
        other => Err(ApiError::bad_request(format!(
            "format is json or csv, not {other:?}"
        ))),
    }
}

/// `GET /v1/statistics/{reports|removal|urls}.svg?from=&to=`.
pub async fn chart(
    State(state): State<SharedState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(request): Query<PeriodRequest>,
) -> ApiResult<Response> {
    caller.require(READERS)?;
    let (from, to) = period(request.from.as_deref(), request.to.as_deref())?;
    let figures = state.store.statistics(from, to).await?;
    let svg = match name.as_str() {
        "reports.svg" => reports_chart(&figures),
        "removal.svg" => removal_chart(&figures),
        "urls.svg" => urls_chart(&figures),
        other => return Err(ApiError::not_found(format!("no chart named {other:?}"))),
    };
    Ok(([(CONTENT_TYPE, "image/svg+xml; charset=utf-8")], svg).into_response())
}

/// The figures as JSON, with the period as days.
pub fn json_view(figures: &Statistics) -> serde_json::Value {
    let mut value = serde_json::to_value(figures).unwrap_or_default();
    value["from"] = figures.from.day().into();
    value["to"] = figures.to.day().into();
    value
}

/// The figures as CSV: one table, `section,key,language,value,value2`.
pub fn csv(figures: &Statistics) -> String {
    let mut out = String::from("section,country,language,received,actioned\n");
    for place in &figures.reports {
        out += &format!(
            "reports,{},{},{},{}\n",
            csv_field(&place.country),
            csv_field(&place.language),
            place.received,
            place.actioned
        );
    }
    out += "\nsection,state,count\n";
    for (state, count) in &figures.urls {
        out += &format!("urls,{state},{count}\n");
    }
    let r = &figures.removal;
    let number = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v}"));
    out += "\nsection,measure,value\n";
    out += &format!("notices,opened,{}\n", figures.notices_opened);
    out += &format!("notices,sent,{}\n", figures.notices_sent);
    out += &format!("removal,noticed,{}\n", r.noticed);
    out += &format!("removal,removed,{}\n", r.removed);
    out += &format!("removal,median_seconds,{}\n", number(r.median_seconds));
    out += &format!("removal,p90_seconds,{}\n", number(r.p90_seconds));
    out += &format!("removal,within_24h,{}\n", number(r.within_24h));
    out += &format!("removal,within_7d,{}\n", number(r.within_7d));
    out += &format!("removal,within_42d,{}\n", number(r.within_42d));
    let f = &figures.forwards;
    out += &format!("forwards,out,{}\n", f.out);
    out += &format!("forwards,received,{}\n", f.received);
    out += &format!("forwards,returned,{}\n", f.returned);
    out += &format!("forwards,removed_out,{}\n", f.removed_out);
    out += &format!("forwards,removed_in,{}\n", f.removed_in);
    out
}

/// A CSV field, quoted when it must be, and never read as a formula by a spreadsheet.
pub(crate) fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// Reports received and actioned, by country and language.
pub fn reports_chart(figures: &Statistics) -> String {
    let rows: Vec<(String, Vec<u64>)> = figures
        .reports
        .iter()
        .map(|p| {
            let country = if p.country.is_empty() {
                "international"
            } else {
                &p.country
            };
            (
                format!("{country} / {}", p.language),
                vec![p.received, p.actioned],
            )
        })
        .collect();
    let total: u64 = figures.reports.iter().map(|p| p.received).sum();
    let actioned: u64 = figures.reports.iter().map(|p| p.actioned).sum();
    bars(
        "reports-chart",
        "Reports by country and language",
        &format!(
            "{total} reports received from {} to {}, {actioned} actioned.",
            figures.from.day(),
            figures.to.day()
        ),
        &rows,
        &["received", "actioned"],
    )
}

/// Reported URLs by where they stand.
pub fn urls_chart(figures: &Statistics) -> String {
    let rows: Vec<(String, Vec<u64>)> = figures
        .urls
        .iter()
        .map(|(state, count)| (state.replace('_', " "), vec![*count]))
        .collect();
    bars(
        "urls-chart",
        "Reported URLs by state",
        "URLs first reported in the period, by where the work on them stands now.",
        &rows,
        &["URLs"],
    )
}

/// Shares of noticed URLs removed within 24 hours, 7 days and 42 days, in percent.
pub fn removal_chart(figures: &Statistics) -> String {
    let r = &figures.removal;
    let percent = |share: Option<f64>| (share.unwrap_or(0.0) * 100.0).round() as u64;
    let rows = vec![
        ("within 24 hours".to_owned(), vec![percent(r.within_24h)]),
        ("within 7 days".to_owned(), vec![percent(r.within_7d)]),
        ("within 42 days".to_owned(), vec![percent(r.within_42d)]),
    ];
    let hours =
        |s: Option<f64>| s.map_or_else(|| "none".to_owned(), |s| format!("{:.1} h", s / 3600.0));
    bars(
        "removal-chart",
        "Removed after notice (% of noticed URLs)",
        &format!(
            "{} URLs noticed, {} removed; median time to removal {}, 90th percentile {}.",
            r.noticed,
            r.removed,
            hours(r.median_seconds),
            hours(r.p90_seconds)
        ),
        &rows,
        &["% removed"],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ward_store::{ForwardFigures, PlaceFigures, RemovalFigures};

    fn figures() -> Statistics {
        Statistics {
            from: Timestamp::of_day("2026-11-01").unwrap(),
            to: Timestamp::of_day("2026-12-01").unwrap(),
            reports: vec![
                PlaceFigures {
                    country: String::new(),
                    language: "en".into(),
                    received: 4,
                    actioned: 1,
                },
                PlaceFigures {
                    country: "ma".into(),
                    language: "ar".into(),
                    received: 10,
                    actioned: 7,
                },
            ],
            urls: [("queued", 3), ("removed", 2)].into_iter().collect(),
            notices_opened: 2,
            notices_sent: 5,
            removal: RemovalFigures {
                noticed: 2,
                removed: 2,
                median_seconds: Some(5400.0),
                p90_seconds: Some(9000.0),
                within_24h: Some(1.0),
                within_7d: Some(1.0),
                within_42d: Some(1.0),
            },
            forwards: ForwardFigures {
                out: 6,
                received: 4,
                returned: 1,
                removed_out: 3,
                removed_in: 2,
            },
        }
    }

    #[test]
    fn periods_are_days_and_not_empty() {
        let (from, to) = period(Some("2026-11-01"), Some("2026-12-01")).unwrap();
        assert_eq!(
            (from.day(), to.day()),
            ("2026-11-01".into(), "2026-12-01".into())
        );
        assert!(period(Some("2026-12-01"), Some("2026-12-01")).is_err());
        assert!(period(Some("yesterday"), None).is_err());
        let (from, to) = period(None, None).unwrap();
        assert_eq!(to.0 - from.0, 30 * 86_400_000);
        assert!(to > Timestamp::now());
    }

    #[test]
    fn csv_has_every_figure_and_no_formulas() {
        let text = csv(&figures());
        assert!(text.starts_with("section,country,language,received,actioned\n"));
        assert!(text.contains("reports,,en,4,1\n"));
        assert!(text.contains("reports,ma,ar,10,7\n"));
        assert!(text.contains("urls,removed,2\n"));
        assert!(text.contains("removal,median_seconds,5400\n"));
        assert!(text.contains("notices,sent,5\n"));
        for line in [
            "forwards,out,6\n",
            "forwards,received,4\n",
            "forwards,returned,1\n",
            "forwards,removed_out,3\n",
            "forwards,removed_in,2\n",
        ] {
            assert!(text.contains(line), "{line:?} in {text}");
        }
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }

    #[test]
    fn charts_are_accessible_svg_with_escaped_labels() {
        let mut with_markup = figures();
        with_markup.reports[1].language = "<script>".into();
        for (id, svg) in [
            ("reports-chart", reports_chart(&with_markup)),
            ("urls-chart", urls_chart(&figures())),
            ("removal-chart", removal_chart(&figures())),
        ] {
            assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
            // Each chart's own ids, so that a page of several charts names each.
            assert!(
                svg.contains("role=\"img\"")
                    && svg.contains(&format!("<title id=\"{id}-title\">"))
                    && svg.contains(&format!("aria-labelledby=\"{id}-title {id}-desc\""))
            );
            assert!(!svg.contains("<script>"), "{svg}");
            assert!(svg.ends_with("</svg>"));
        }
        assert!(reports_chart(&with_markup).contains("ma / &lt;script&gt;"));
        assert!(removal_chart(&figures()).contains("median time to removal 1.5 h"));
        let empty = Statistics {
            reports: Vec::new(),
            ..figures()
        };
        assert!(reports_chart(&empty).contains("No figures in this period."));
    }
}
