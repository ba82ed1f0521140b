//! The series pages: live series of near-duplicate content as a dense table (optionally only
//! those whose victim is not identified), and one series with its row and its members. A
//! curator (or an admin) names and flags a series, records its referral, merges it with
//! another and splits members off it; a merge or split is a request the keeper applies,
//! and the page says whether it was applied, is still waiting, or failed. The store's calls
//! log every change in the audit log.
//!
//! The user sees series as `/v1/series` shows them, by the same rule in the same code: the
//! store's series calls take the user's `BankScope` (`auth::Member`), so a series with no
//! member in a bank the user sees does not exist for them, counts are of the members they
//! see, and a merge or split touches only what they see.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use ward_store::{
    Actor, BankScope, ContentId, DecisionId, Role, SeriesChange, SeriesDecision, SeriesId,
    SeriesQuery, SeriesRequest, Store as _, Timestamp,
};

use super::error::PageError;
use super::session::Analyst;
use super::view::{FormFields, Header, SeriesNumber};
use crate::serve::SharedState;

/// Series on a page of the list.
pub const PAGE: u32 = 100;

/// Members listed on a series' page (the rest are counted).
pub const MEMBERS_SHOWN: usize = 500;

/// The roles that change series.
const CURATORS: &[Role] = &[Role::Curator, Role::Admin];

/// A series as a row of a table.
#[derive(Debug)]
pub struct SeriesRow {
    pub id: i64,
    /// What the page shows (`#1` for the engine's series 0).
    pub number: i64,
    pub name: Option<String>,
    pub members: u32,
    pub victim_identified: bool,
    pub offender_identified: bool,
    pub referred_to: Option<String>,
    /// The day it was referred (`YYYY-MM-DD`), empty when it was not.
    pub referred_on: String,
    pub merged_into: Option<SeriesNumber>,
    pub split_from: Option<SeriesNumber>,
    pub updated_at: String,
}

impl SeriesRow {
    fn of(series: &ward_store::Series) -> SeriesRow {
        SeriesRow {
            id: series.id.0,
            number: SeriesNumber::of(series.id.0).number,
            name: series.name.clone(),
            members: series.members,
            victim_identified: series.victim_identified,
            offender_identified: series.offender_identified,
            referred_to: series.referred_to.clone(),
            referred_on: series.referred_at.map(day).unwrap_or_default(),
            merged_into: series.merged_into.map(|s| SeriesNumber::of(s.0)),
            split_from: series.split_from.map(|s| SeriesNumber::of(s.0)),
            updated_at: series.updated_at.to_rfc3339(),
        }
    }
}

/// A timestamp's day in UTC.
fn day(at: Timestamp) -> String {
    at.to_rfc3339()[..10].to_owned()
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Any value: only series whose victim is not identified.
    unidentified: Option<String>,
    /// The last id of the page before.
    after: Option<String>,
}

#[derive(Template)]
#[template(path = "series_list.html", config = "src/analyst/askama.toml")]
struct ListPage {
    header: Option<Header>,
    rows: Vec<SeriesRow>,
    unidentified: bool,
    after: Option<i64>,
    next_after: Option<i64>,
}

/// An id typed into a URL or a form, or a clear refusal.
fn parse_id(text: &str, what: &str) -> Result<i64, PageError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id >= 0)
        .ok_or_else(|| PageError::BadRequest(format!("{what} must be a number, not {text:?}")))
}

/// `GET /analyst/series`.
pub async fn list(
    State(state): State<SharedState>,
    analyst: Analyst,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let unidentified = query.unidentified.as_deref().is_some_and(|v| !v.is_empty());
    let after = match query.after.as_deref() {
        None | Some("") => None,
        Some(text) => Some(parse_id(text, "the page's start")?),
    };
    let mut series = state
        .store
        .series_list(&SeriesQuery {
            scope: analyst.member().bank_scope(&state.store).await?,
            victim_identified: unidentified.then_some(false),
            after: after.map(SeriesId),
            limit: PAGE + 1,
        })
        .await?;
    let more = series.len() > PAGE as usize;
    series.truncate(PAGE as usize);
    let next_after = series.last().filter(|_| more).map(|s| s.id.0);
    let page = ListPage {
        header: Some(Header::of(&state, &analyst).await?),
        rows: series.iter().map(SeriesRow::of).collect(),
        unidentified,
        after,
        next_after,
    };
    Ok(Html(page.render()?).into_response())
}

/// A member as the series' page lists it.
#[derive(Debug)]
struct MemberRow {
    id: i64,
    bank: String,
    enabled: bool,
    /// The assessment's UK and industry categories, or the list's label.
    category: String,
}

/// A merge or split and where it stands, as the page tells it.
#[derive(Debug)]
struct DecisionView {
    id: i64,
    kind: &'static str,
    applied: bool,
    error: Option<String>,
    outcome: Vec<SeriesNumber>,
}

impl DecisionView {
    fn of(decision: &SeriesDecision) -> DecisionView {
        DecisionView {
            id: decision.id.0,
            kind: match decision.request {
                SeriesRequest::Merge { .. } => "merge",
                SeriesRequest::Split { .. } => "split",
            },
            applied: decision.applied_at.is_some(),
            error: decision.error.clone(),
            outcome: decision
                .outcome
                .iter()
                .flatten()
                .map(|s| SeriesNumber::of(s.0))
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    /// A merge or split just requested, to say where it stands.
    decision: Option<String>,
    /// `saved` after a change to the row.
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "series.html", config = "src/analyst/askama.toml")]
struct SeriesPage {
    header: Option<Header>,
    csrf: String,
    series: SeriesRow,
    members: Vec<MemberRow>,
    /// Members this person sees that are not listed (beyond the cap).
    members_not_shown: usize,
    curator: bool,
    saved: bool,
    decision: Option<DecisionView>,
}

/// `GET /analyst/series/{id}`.
pub async fn page(
    State(state): State<SharedState>,
    analyst: Analyst,
    Path(id): Path<i64>,
    Query(query): Query<PageQuery>,
) -> Result<Response, PageError> {
    let member = analyst.member();
    let scope = member.bank_scope(&state.store).await?;
    let series = found(&state, id, &scope).await?;
    let members = state.store.series_members(series.id, &scope).await?;
    let shown: Vec<ContentId> = members.iter().take(MEMBERS_SHOWN).copied().collect();
    let banks = state.store.banks().await?;
    let user = &analyst.user;
    let mut rows = Vec::new();
    for content in state.store.contents(&shown).await? {
        let Some(bank) = banks.iter().find(|bank| bank.id == content.bank) else {
            continue;
        };
        if !member.sees(bank) {
            continue;
        }
        let category = match (content.assessment, &content.label) {
            (Some(a), _) => format!(
                "UK {}, industry {}",
                a.uk().name(),
                a.industry().map_or("—", |c| c.name())
            ),
            (None, Some(label)) => format!("{} {}", label.scheme, label.label),
            (None, None) => "—".to_owned(),
        };
        rows.push(MemberRow {
            id: content.id.0,
            bank: bank.name.clone(),
            enabled: content.enabled,
            category,
        });
    }
    let decision = match query.decision.as_deref() {
        None | Some("") => None,
        Some(text) => {
            let id = parse_id(text, "the decision")?;
            state
                .store
                .series_decision(DecisionId(id), &scope)
                .await?
                .map(|d| DecisionView::of(&d))
        }
    };
    let header = Header::of(&state, &analyst).await?;
    let page = SeriesPage {
        csrf: header.csrf.clone(),
        header: Some(header),
        series: SeriesRow::of(&series),
        members_not_shown: members.len() - shown.len(),
        members: rows,
        curator: CURATORS.contains(&user.role),
        saved: query.notice.as_deref() == Some("saved"),
        decision,
    };
    Ok(Html(page.render()?).into_response())
}

async fn found(
    state: &SharedState,
    id: i64,
    scope: &BankScope,
) -> Result<ward_store::Series, PageError> {
    state
        .store
        .series(SeriesId(id), scope)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("no series #{}", SeriesNumber::of(id).number)))
}

/// The person behind a form that changes a series: signed in, the session's own form, a
/// curator or an admin.
fn curator(analyst: Result<Analyst, PageError>, form: &FormFields) -> Result<Analyst, PageError> {
    let analyst = analyst.map_err(PageError::not_a_page)?;
    analyst.check_csrf(form.get("csrf"))?;
    if !CURATORS.contains(&analyst.user.role) {
        return Err(PageError::Forbidden(format!(
            "accounts with the {} role do not change series; curators do",
            analyst.user.role
        )));
    }
    Ok(analyst)
}

/// A form's text field, trimmed; `None` when empty.
fn text(form: &FormFields, field: &str) -> Option<String> {
    form.get(field)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// `POST /analyst/series/{id}`: the series' name, flags and referral.
pub async fn update(
    State(state): State<SharedState>,
    analyst: Result<Analyst, PageError>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormFields::parse(&body);
    let analyst = curator(analyst, &form)?;
    let referral = match (text(&form, "referred_to"), text(&form, "referred_on")) {
        (Some(to), Some(on)) => {
            let at = Timestamp::of_day(&on).ok_or_else(|| {
                PageError::BadRequest(format!(
                    "the referral's day is not a date (YYYY-MM-DD): {on:?}"
                ))
            })?;
            Some((to, at))
        }
        (Some(to), None) => Some((to, Timestamp::now())),
        (None, Some(_)) => {
            return Err(PageError::BadRequest(
                "a referral's day needs to whom it was referred".into(),
            ));
        }
        (None, None) => None,
    };
    let change = SeriesChange {
        name: Some(text(&form, "name")),
        victim_identified: Some(form.get("victim_identified").is_some()),
        offender_identified: Some(form.get("offender_identified").is_some()),
        referral: Some(referral),
    };
    // A series that does not exist, or that the user sees nothing of, is the store's
    // not-found (a 404 page).
    let scope = analyst.member().bank_scope(&state.store).await?;
    let series = state
        .store
        .update_series(&Actor::user(&analyst.user), SeriesId(id), &change, &scope)
        .await?;
    state.caught_up().await;
    Ok(Redirect::to(&format!("/analyst/series/{}?notice=saved", series.id)).into_response())
}

/// `POST /analyst/series/{id}/merge`: it and another series are the same.
pub async fn merge(
    State(state): State<SharedState>,
    analyst: Result<Analyst, PageError>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormFields::parse(&body);
    let analyst = curator(analyst, &form)?;
    // The person types the number the pages show them.
    let text = form.get("with").unwrap_or_default();
    let with = SeriesNumber::parse(text)
        .ok_or_else(|| {
            PageError::BadRequest(format!(
                "the series to merge with must be a number from 1, not {text:?}"
            ))
        })?
        .id;
    decide(
        &state,
        &analyst,
        id,
        SeriesRequest::Merge {
            with: SeriesId(with),
        },
    )
    .await
}

/// `POST /analyst/series/{id}/split`: the ticked members are not the same as the rest.
pub async fn split(
    State(state): State<SharedState>,
    analyst: Result<Analyst, PageError>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormFields::parse(&body);
    let analyst = curator(analyst, &form)?;
    let members = form
        .all("content")
        .map(|text| parse_id(text, "a member").map(ContentId))
        .collect::<Result<Vec<_>, _>>()?;
    if members.is_empty() {
        return Err(PageError::BadRequest(
            "tick the members to split off the series".into(),
        ));
    }
    decide(&state, &analyst, id, SeriesRequest::Split { members }).await
}

/// Records a merge or split, gives this node's keeper a step to apply it, and shows the
/// series it led to (or the series, with the request still waiting or its error).
async fn decide(
    state: &SharedState,
    analyst: &Analyst,
    id: i64,
    request: SeriesRequest,
) -> Result<Response, PageError> {
    let scope = analyst.member().bank_scope(&state.store).await?;
    found(state, id, &scope).await?;
    let decision = state
        .store
        .request_series_decision(&Actor::user(&analyst.user), SeriesId(id), &request, &scope)
        .await?;
    state.keep_series().await;
    // The user's own decision, read whatever it led to (see `series_api::decide`).
    let now = state
        .store
        .series_decision(decision.id, &BankScope::All)
        .await?
        .unwrap_or(decision);
    let shown = match (&now.applied_at, &now.error, &now.outcome) {
        (Some(_), None, Some(outcome)) => outcome.first().copied().unwrap_or(now.series),
        _ => now.series,
    };
    Ok(Redirect::to(&format!("/analyst/series/{shown}?decision={}", now.id)).into_response())
}
