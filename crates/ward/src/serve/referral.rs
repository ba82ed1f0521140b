//! The `/v1` referral routes: one content item (`GET /v1/content/{id}/referral`), a set
//! (`POST /v1/referrals`) or a series (`GET /v1/series/{id}/referral`: its members the caller
//! sees, under a header with the series' name and flags) written as Ward's referral JSON
//! or VICS, for a curator or analyst
//! to pass to law enforcement or a hotline. The store logs each as `export.referral` with
//! who exported what; an item the caller cannot see is "not found", as on the content
//! routes.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use ward_store::{ContentId, MAX_REFERRAL_ITEMS, Series, Store};

use super::SharedState;
use super::api::READERS;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use crate::referral::{ReferralError, ReferralFormat, ReferralSubject, content_target, export};

#[derive(Debug, Deserialize)]
pub struct ReferralQuery {
    format: Option<String>,
}

/// `GET /v1/content/{id}/referral?format=json|vics` (JSON when not given).
pub async fn content_referral(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(query): Query<ReferralQuery>,
) -> ApiResult<Response> {
    let format = format(query.format.as_deref())?;
    refer(&state, &caller, &[ContentId(id)], format, Subject::Content).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralRequest {
    content: Vec<i64>,
    format: Option<String>,
}

/// `POST /v1/referrals` with `{"content": [ids], "format": "json"|"vics"}`.
pub async fn referrals(
    State(state): State<SharedState>,
    caller: Caller,
    Json(request): Json<ReferralRequest>,
) -> ApiResult<Response> {
    let format = format(request.format.as_deref())?;
    if request.content.is_empty() || request.content.len() > MAX_REFERRAL_ITEMS {
        return Err(ApiError::bad_request(format!(
            "content: 1 to {MAX_REFERRAL_ITEMS} content ids"
        )));
    }
    let ids: Vec<ContentId> = request.content.iter().copied().map(ContentId).collect();
    refer(&state, &caller, &ids, format, Subject::Content).await
}

/// `GET /v1/series/{id}/referral?format=json|vics`: the series (the one it joined, when it
/// was merged) with the members the caller sees; a series it sees none of is not found.
pub async fn series_referral(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(query): Query<ReferralQuery>,
) -> ApiResult<Response> {
    caller.require(READERS)?;
    let format = format(query.format.as_deref())?;
    let scope = caller.bank_scope(&state.store).await?;
    let mut series = super::series_api::found(&state, id, &scope).await?;
    for _ in 0..64 {
        let Some(into) = series.merged_into else {
            break;
        };
        series = super::series_api::found(&state, into.0, &scope).await?;
    }
    let members = state.store.series_members(series.id, &scope).await?;
    if members.is_empty() {
        return Err(ApiError::not_found(format!("series {id} not found")));
    }
    if members.len() > MAX_REFERRAL_ITEMS {
        return Err(ApiError::bad_request(format!(
            "series {id} has {} items; a referral holds at most {MAX_REFERRAL_ITEMS}",
            members.len()
        )));
    }
    refer(&state, &caller, &members, format, Subject::Series(series)).await
}

/// What a referral is of.
enum Subject {
    Content,
    Series(Series),
}

fn format(name: Option<&str>) -> ApiResult<ReferralFormat> {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => name.parse().map_err(ApiError::bad_request),
        None => Ok(ReferralFormat::Json),
    }
}

/// Checks that the caller may refer every item, then has the store gather and log the
/// referral, and writes it.
async fn refer(
    state: &SharedState,
    caller: &Caller,
    ids: &[ContentId],
    format: ReferralFormat,
    subject: Subject,
) -> ApiResult<Response> {
    caller.require(READERS)?;
    let found = state.store.contents(ids).await?;
    let mut banks = HashMap::new();
    for id in ids {
        let missing = || ApiError::not_found(format!("content {id} not found"));
        let content = found.iter().find(|c| c.id == *id).ok_or_else(missing)?;
        let seen = match banks.get(&content.bank) {
            Some(seen) => *seen,
            None => {
                let seen = match state.store.bank(content.bank).await? {
                    Some(bank) => caller.sees(&bank),
                    None => false,
                };
                banks.insert(content.bank, seen);
                seen
            }
        };
        if !seen {
            return Err(missing());
        }
    }
    let (target, header, name) = match subject {
        Subject::Content => {
            let name = match ids {
                [one] => format!("referral-content-{one}"),
                _ => "referral".to_owned(),
            };
            (content_target(ids), None, name)
        }
        Subject::Series(series) => (
            format!("series:{}", series.id),
            Some(ReferralSubject {
                kind: "series".into(),
                id: series.id.to_string(),
                name: series.name.clone(),
                victim_identified: Some(series.victim_identified),
                offender_identified: Some(series.offender_identified),
                referred_to: series.referred_to.clone(),
                referred_at: series.referred_at.map(|t| t.to_rfc3339()),
            }),
            format!("referral-series-{}", series.id),
        ),
    };
    let mut body = Vec::new();
    let exported = export(
        &state.store,
        &caller.actor(),
        ids,
        &target,
        header,
        format,
        &mut body,
    )
    .await
    .map_err(|error| match error {
        ReferralError::Store(error) => ApiError::from(error),
        ReferralError::Write(error) => ApiError::internal(format!("writing a referral: {error}")),
    })?;
    if !exported.omitted.is_empty() {
        tracing::info!(omitted = ?exported.omitted, "referral: items VICS cannot carry left out");
    }
    let extension = match format {
        ReferralFormat::Json => "json",
        ReferralFormat::Vics => "vics.json",
    };
    let mut response = ([(CONTENT_TYPE, "application/json")], body).into_response();
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"{name}.{extension}\""))
    {
        response.headers_mut().insert(CONTENT_DISPOSITION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&exported.omitted.len().to_string()) {
        response.headers_mut().insert("x-ward-omitted", value);
    }
    Ok(response)
}
