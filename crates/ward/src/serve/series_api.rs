//! The `/v1/series` API: series of near-duplicate content, their names and flags (victim
//! identified, offender identified, referred), and curators' merges and splits.
//!
//! Series are formed over every standard bank of the deployment, but a caller sees a series
//! only through its content: one with no member in a bank the caller sees does not exist for
//! it (404), the counts it reads are of the members it sees, a merge needs both series seen,
//! a split only members it sees, and a decision is read only on a series it sees (the store
//! applies the caller's `BankScope`, from `auth::Member`). Hotline staff (analysts,
//! curators, auditors) read series; curators change them and read their decisions. A merge
//! or split is a request the keeper applies (this node's keeper at once when it holds the
//! lease; otherwise within a step of the node that does): the answer is the decision,
//! applied (200) or still pending (202).

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use ward_store::{
    BankScope, ContentId, DecisionId, Role, SERIES_PAGE_MAX, Series, SeriesChange, SeriesDecision,
    SeriesId, SeriesQuery, SeriesRequest, Store, Timestamp,
};

use super::SharedState;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};

/// Roles that read series.
const READERS: &[Role] = &[Role::Analyst, Role::Curator, Role::Auditor];

/// Roles that change series and read the decisions on them (admins too).
const CURATORS: &[Role] = &[Role::Curator];

/// Members listed with a series (the rest are counted).
const MEMBERS_SHOWN: usize = 1000;

/// How long a merge or split waits for the keeper before answering 202.
const DECISION_WAIT: Duration = Duration::from_secs(10);

/// A series as the API shows it.
pub fn series_view(series: &Series) -> Value {
    json!({
        "id": series.id,
        "name": series.name,
        "victim_identified": series.victim_identified,
        "offender_identified": series.offender_identified,
        "referred_to": series.referred_to,
        "referred_at": series.referred_at.map(|t| t.to_rfc3339()),
        "members": series.members,
        "merged_into": series.merged_into,
        "split_from": series.split_from,
        "created_at": series.created_at.to_rfc3339(),
        "updated_at": series.updated_at.to_rfc3339(),
    })
}

fn decision_view(decision: &SeriesDecision) -> Value {
    json!({
        "id": decision.id,
        "series": decision.series,
        "request": decision.request,
        "requested_by": decision.requested_by,
        "requested_at": decision.requested_at.to_rfc3339(),
        "applied_at": decision.applied_at.map(|t| t.to_rfc3339()),
        "outcome": decision.outcome,
        "error": decision.error,
    })
}

#[derive(Debug, Deserialize)]
pub struct ListRequest {
    victim_identified: Option<bool>,
    after: Option<i64>,
    limit: Option<u32>,
}

/// `GET /v1/series`: live series by id, optionally only those whose victim is (not)
/// identified.
pub async fn list(
    State(state): State<SharedState>,
    caller: Caller,
    Query(request): Query<ListRequest>,
) -> ApiResult<Json<Value>> {
    caller.require(READERS)?;
    let series = state
        .store
        .series_list(&SeriesQuery {
            scope: caller.bank_scope(&state.store).await?,
            victim_identified: request.victim_identified,
            after: request.after.map(SeriesId),
            limit: request.limit.unwrap_or(100).clamp(1, SERIES_PAGE_MAX),
        })
        .await?;
    let views: Vec<Value> = series.iter().map(series_view).collect();
    Ok(Json(json!({ "series": views })))
}

/// The series as `scope` sees it, else 404 (a series it sees nothing of is not told of).
pub(super) async fn found(state: &SharedState, id: i64, scope: &BankScope) -> ApiResult<Series> {
    state
        .store
        .series(SeriesId(id), scope)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("series {id} not found")))
}

/// `GET /v1/series/{id}`: the series, with the ids of the members the caller sees (the
/// first 1,000; `content_not_listed` counts the rest).
pub async fn get(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    caller.require(READERS)?;
    let scope = caller.bank_scope(&state.store).await?;
    let series = found(&state, id, &scope).await?;
    let members = state.store.series_members(series.id, &scope).await?;
    let shown = &members[..members.len().min(MEMBERS_SHOWN)];
    let mut view = series_view(&series);
    view["content"] = json!(shown);
    view["content_not_listed"] = json!(members.len() - shown.len());
    Ok(Json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    #[serde(default, deserialize_with = "nullable")]
    name: Option<Option<String>>,
    victim_identified: Option<bool>,
    offender_identified: Option<bool>,
    /// Referred to whom; `null` clears the referral.
    #[serde(default, deserialize_with = "nullable")]
    referred_to: Option<Option<String>>,
    /// When (`YYYY-MM-DD`); today when a referral is given without it.
    referred_on: Option<String>,
}

/// A field that may be absent (unchanged), `null` (cleared) or a value (set).
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `PATCH /v1/series/{id}`: its name, flags or referral (curators).
pub async fn update(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(request): Json<ChangeRequest>,
) -> ApiResult<Json<Value>> {
    caller.require(CURATORS)?;
    let referral = match request.referred_to {
        Some(Some(to)) => {
            let at = match &request.referred_on {
                Some(day) => Timestamp::of_day(day).ok_or_else(|| {
                    ApiError::bad_request(format!("not a day (YYYY-MM-DD): {day:?}"))
                })?,
                None => Timestamp::now(),
            };
            Some(Some((to, at)))
        }
        Some(None) => Some(None),
        None if request.referred_on.is_some() => {
            return Err(ApiError::bad_request(
                "referred_on needs referred_to (to whom it was referred)",
            ));
        }
        None => None,
    };
    let change = SeriesChange {
        name: request.name,
        victim_identified: request.victim_identified,
        offender_identified: request.offender_identified,
        referral,
    };
    let scope = caller.bank_scope(&state.store).await?;
    let series = state
        .store
        .update_series(&caller.actor(), SeriesId(id), &change, &scope)
        .await?;
    // This node's next match answer shows the new flags.
    state.caught_up().await;
    Ok(Json(series_view(&series)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The series to merge with.
    with: i64,
}

/// `POST /v1/series/{id}/merge`: the two series are the same (curators).
pub async fn merge(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(request): Json<MergeRequest>,
) -> ApiResult<Response> {
    caller.require(CURATORS)?;
    decide(
        &state,
        &caller,
        id,
        SeriesRequest::Merge {
            with: SeriesId(request.with),
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitRequest {
    /// The content items to separate from the rest of the series.
    content: Vec<i64>,
}

/// `POST /v1/series/{id}/split`: these items are not the same as the rest (curators).
pub async fn split(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(request): Json<SplitRequest>,
) -> ApiResult<Response> {
    caller.require(CURATORS)?;
    decide(
        &state,
        &caller,
        id,
        SeriesRequest::Split {
            members: request.content.into_iter().map(ContentId).collect(),
        },
    )
    .await
}

async fn decide(
    state: &SharedState,
    caller: &Caller,
    id: i64,
    request: SeriesRequest,
) -> ApiResult<Response> {
    let scope = caller.bank_scope(&state.store).await?;
    let decision = state
        .store
        .request_series_decision(&caller.actor(), SeriesId(id), &request, &scope)
        .await?;
    let deadline = tokio::time::Instant::now() + DECISION_WAIT;
    loop {
        state.nudge_series().await;
        // Read with every bank: the decision is the caller's own, and a merge may leave
        // the series it named merged into one whose members the caller does not all see.
        let now = state
            .store
            .series_decision(decision.id, &BankScope::All)
            .await?
            .ok_or_else(|| ApiError::internal("the decision was not kept"))?;
        if now.applied_at.is_some() {
            let status = if now.error.is_some() {
                StatusCode::CONFLICT
            } else {
                StatusCode::OK
            };
            return Ok((status, Json(decision_view(&now))).into_response());
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok((StatusCode::ACCEPTED, Json(decision_view(&now))).into_response());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `GET /v1/series/decisions/{id}`: a merge or split and its outcome, on a series the
/// caller sees (curators).
pub async fn decision(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    caller.require(CURATORS)?;
    let scope = caller.bank_scope(&state.store).await?;
    let decision = state
        .store
        .series_decision(DecisionId(id), &scope)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("decision {id} not found")))?;
    Ok(Json(decision_view(&decision)))
}
