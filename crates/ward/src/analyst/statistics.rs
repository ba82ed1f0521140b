//! The hotline's figures as a page: reports received and actioned by country and language,
//! reported URLs by state, notices, and times from notice to removal, each as a chart drawn
//! on the server (SVG, with a title and description) beside a table of the same numbers,
//! reports forwarded across borders as a table, and the whole as CSV to download.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};
use ward_store::{ForwardFigures, PlaceFigures, Statistics, Store as _};

use super::error::PageError;
use super::session::Analyst;
use super::view::Header;
use crate::serve::SharedState;
use crate::serve::statistics::{self as figures, PeriodRequest};

#[derive(Template)]
#[template(path = "statistics.html", config = "src/analyst/askama.toml")]
struct StatisticsPage {
    header: Option<Header>,
    from: String,
    to: String,
    query: String,
    places: Vec<PlaceFigures>,
    urls: Vec<(String, u64)>,
    notices_opened: u64,
    notices_sent: u64,
    noticed: u64,
    removed: u64,
    median: String,
    p90: String,
    within: Vec<(&'static str, String)>,
    forwards: ForwardFigures,
    /// Charts drawn by `serve::statistics`, which escapes every text it puts in them.
    reports_chart: String,
    urls_chart: String,
    removal_chart: String,
}

/// Hours, as the page shows a duration.
fn hours(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "—".to_owned(), |s| format!("{:.1} h", s / 3600.0))
}

fn share(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{:.0} %", v * 100.0))
}

async fn read(state: &SharedState, request: &PeriodRequest) -> Result<Statistics, PageError> {
    let (from, to) = figures::period(request.from(), request.to())
        .map_err(|e| PageError::BadRequest(e.message))?;
    Ok(state.store.statistics(from, to).await?)
}

/// `GET /analyst/statistics?from=&to=`.
pub async fn page(
    State(state): State<SharedState>,
    analyst: Analyst,
    Query(request): Query<PeriodRequest>,
) -> Result<Response, PageError> {
    let stats = read(&state, &request).await?;
    let removal = &stats.removal;
    let (from, to) = (stats.from.day(), stats.to.day());
    let page = StatisticsPage {
        header: Some(Header::of(&state, &analyst).await?),
        query: format!("from={from}&to={to}"),
        from,
        to,
        places: stats.reports.clone(),
        urls: stats
            .urls
            .iter()
            .map(|(state, count)| (state.replace('_', " "), *count))
            .collect(),
        notices_opened: stats.notices_opened,
        notices_sent: stats.notices_sent,
        noticed: removal.noticed,
        removed: removal.removed,
        median: hours(removal.median_seconds),
        p90: hours(removal.p90_seconds),
        within: vec![
            ("24 hours", share(removal.within_24h)),
            ("7 days", share(removal.within_7d)),
            ("42 days", share(removal.within_42d)),
        ],
        forwards: stats.forwards.clone(),
        reports_chart: figures::reports_chart(&stats),
        urls_chart: figures::urls_chart(&stats),
        removal_chart: figures::removal_chart(&stats),
    };
    Ok(Html(page.render()?).into_response())
}

/// `GET /analyst/statistics.csv?from=&to=`.
pub async fn csv(
    State(state): State<SharedState>,
    _analyst: Analyst,
    Query(request): Query<PeriodRequest>,
) -> Result<Response, PageError> {
    let stats = read(&state, &request).await?;
    let name = format!(
        "attachment; filename=\"ward-figures-{}-{}.csv\"",
        stats.from.day(),
        stats.to.day()
    );
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (CONTENT_DISPOSITION, name),
        ],
        figures::csv(&stats),
    )
        .into_response())
}
