//! The queue: content waiting for an analyst in triage order (novel content first, then
//! matches of content in a series whose victim is not identified, then the rest; the newest
//! report first within each), as a dense table of each item's age, report count, match
//! state, series and media type. Known content never comes here: intake closes it with its
//! bank's assessment.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use ward_store::{ReportedUrl, Store as _, Timestamp, UrlId};

use super::error::PageError;
use super::session::Analyst;
use super::view::{Header, age, match_state};
use crate::serve::SharedState;

/// Items on a page of the queue.
pub const PAGE: u32 = 50;

#[derive(Debug, Deserialize)]
pub struct QueueQuery {
    /// The position of the page's first item (a multiple of the page size).
    from: Option<u32>,
}

/// One row of the queue.
#[derive(Debug)]
pub struct Row {
    pub id: UrlId,
    pub age: String,
    pub reported_at: String,
    pub reports: u32,
    pub match_state: &'static str,
    pub match_class: &'static str,
    pub media: String,
    pub host: String,
    /// The matched content's series, with whether its victim is identified.
    pub series: Option<SeriesCell>,
    /// The partner hotlines that forwarded it here.
    pub forwarded_from: Vec<String>,
}

/// A series as a queue row (or an item's page) shows it.
#[derive(Debug)]
pub struct SeriesCell {
    pub id: i64,
    /// What the page shows (`#1` for the engine's series 0).
    pub number: i64,
    pub name: Option<String>,
    pub victim_identified: bool,
}

impl SeriesCell {
    /// The series of the content a URL matched, when it is in one.
    pub fn of(url: &ReportedUrl) -> Option<SeriesCell> {
        url.series.as_ref().map(|s| SeriesCell {
            id: s.id.0,
            number: super::view::SeriesNumber::of(s.id.0).number,
            name: s.name.clone(),
            victim_identified: s.victim_identified,
        })
    }
}

impl Row {
    pub fn of(url: &ReportedUrl, now: Timestamp) -> Row {
        let (match_state, match_class) = match_state(url);
        Row {
            id: url.id,
            age: age(url.first_reported_at, now),
            reported_at: url.first_reported_at.to_rfc3339(),
            reports: url.reports,
            match_state,
            match_class,
            media: url.media_type.clone().unwrap_or_else(|| "—".to_owned()),
            host: url.host.clone(),
            series: SeriesCell::of(url),
            forwarded_from: Vec::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "queue.html", config = "src/analyst/askama.toml")]
struct QueuePage {
    header: Option<Header>,
    rows: Vec<Row>,
    from: u32,
    next_page: Option<u32>,
}

/// `GET /analyst/queue`.
pub async fn page(
    State(state): State<SharedState>,
    analyst: Analyst,
    Query(query): Query<QueueQuery>,
) -> Result<Response, PageError> {
    let from = query.from.unwrap_or(0);
    let urls = state.store.queue(from, PAGE).await?;
    let now = Timestamp::now();
    let next_page = (urls.len() == PAGE as usize).then(|| from.saturating_add(PAGE));
    let mut rows = Vec::with_capacity(urls.len());
    for url in &urls {
        let mut row = Row::of(url, now);
        row.forwarded_from = state
            .store
            .url_forwards(url.id)
            .await?
            .into_iter()
            .filter(|f| f.direction == ward_store::ForwardDirection::In)
            .map(|f| f.partner)
            .collect();
        rows.push(row);
    }
    let page = QueuePage {
        header: Some(Header::of(&state, &analyst).await?),
        rows,
        from,
        next_page,
    };
    Ok(Html(page.render()?).into_response())
}

/// The item to show after a decision on `done`: the first in the queue that is not it.
pub async fn next_after(state: &SharedState, done: UrlId) -> Result<Option<UrlId>, PageError> {
    let first = state.store.queue(0, 2).await?;
    Ok(first.iter().map(|u| u.id).find(|&id| id != done))
}
