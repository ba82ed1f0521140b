//! The forwarding routes: `GET /v1/forwarding` (a partner hotline reads what this hotline
//! tells it, by a request signed with its instance key: see [`crate::forwarding`]),
//! `/v1/forwarding/partners` (which `ward` exchanges are forwarding partners and the
//! countries each covers: admins, as `ward admin forwarding`), and `/v1/forwards` (the
//! forwards either way, and declining one received: analysts). Reports are the
//! deployment's, so the partners and forwards are too.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, StatusCode, Uri};
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use ward_store::{
    ACK_TIMEOUT_DEFAULT_MS, AnyStore, Exchange, ForwardDirection, ForwardingPartner,
    NewForwardingPartner, Role, Store as _, Timestamp, UrlForward,
};

use super::SharedState;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};

/// Who keeps the partners: admins (the hotline's operator).
pub(crate) const KEEPERS: &[Role] = &[Role::Admin];
/// Who reads forwards and declines one received: analysts (and admins).
pub(crate) const ANALYSTS: &[Role] = &[Role::Analyst];

#[derive(Debug, Deserialize)]
pub struct FeedRequest {
    after: Option<String>,
    limit: Option<u32>,
}

/// `GET /v1/forwarding?after=CURSOR&limit=N`: for a partner hotline only, by a request
/// signed with its pinned key (401 for anyone else, keys included): `{"instance", "to",
/// "after", "cursor", "more", "messages"}`, signed by this instance over the exact body.
pub async fn feed(
    State(state): State<SharedState>,
    uri: Uri,
    headers: HeaderMap,
    Query(request): Query<FeedRequest>,
) -> ApiResult<Response> {
    let own = state.identity.public_key();
    // What the partner signed: the route as it asked for it (under /v1, which the router
    // nests), with the query as sent.
    let path = match uri.query() {
        Some(query) => format!("/v1/forwarding?{query}"),
        None => "/v1/forwarding".to_owned(),
    };
    let (partner, pinned) = crate::forwarding::authenticate(
        &state.store,
        &own,
        &headers,
        "GET",
        &path,
        Timestamp::now().0,
    )
    .await
    .map_err(|e| ApiError::internal(format!("{e:#}")))?
    .ok_or_else(ApiError::unauthorized)?;
    let (body, signature) = crate::forwarding::page(
        &state.store,
        &state.identity,
        partner.exchange,
        &pinned,
        request.after.as_deref().unwrap_or_default(),
        request.limit.unwrap_or(100),
    )
    .await
    .map_err(|e| ApiError::bad_request(format!("{e:#}")))?;
    Ok((
        [
            (CONTENT_TYPE, "application/json".to_owned()),
            (
                HeaderName::from_static(crate::sync::SIGNATURE_HEADER),
                signature,
            ),
        ],
        body,
    )
        .into_response())
}

pub(crate) fn partner_view(partner: &ForwardingPartner) -> Value {
    json!({
        "exchange": partner.exchange,
        "name": partner.name,
        "countries": partner.countries,
        "enabled": partner.enabled,
        "ack_timeout_seconds": partner.ack_timeout_ms / 1000,
        "cursor": partner.cursor,
        "pulled_at": partner.pulled_at.map(|t| t.to_rfc3339()),
        "last_error": partner.last_error,
        "updated_at": partner.updated_at.to_rfc3339(),
    })
}

/// `GET /v1/forwarding/partners`: every forwarding partner, by name.
pub async fn partners(State(state): State<SharedState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(KEEPERS)?;
    let partners = state.store.forwarding_partners().await?;
    let partners: Vec<Value> = partners.iter().map(partner_view).collect();
    Ok(Json(json!({ "partners": partners })))
}

/// The body of `PUT /v1/forwarding/partners/{name}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerRequest {
    countries: Vec<String>,
    #[serde(default = "yes")]
    enabled: bool,
    ack_timeout_seconds: Option<i64>,
}

fn yes() -> bool {
    true
}

/// The `ward` exchange a name means: its name (one of type `ward`), or `#ID`.
pub(crate) async fn ward_exchange(store: &AnyStore, name: &str) -> ApiResult<Exchange> {
    use crate::forwarding::PartnerName;
    let exchanges = store.exchanges().await?;
    crate::forwarding::ward_exchange_named(&exchanges, name)
        .cloned()
        .map_err(|why| {
            let message = format!("{name:?}: {why}");
            match why {
                PartnerName::Unknown => ApiError::not_found(message),
                PartnerName::NotWard => ApiError::bad_request(message),
                PartnerName::Several(_) => {
                    ApiError::new(StatusCode::CONFLICT, "ambiguous", message)
                }
            }
        })
}

/// `PUT /v1/forwarding/partners/{name}` `{"countries": ["BE"], "enabled": true,
/// "ack_timeout_seconds": 259200}`: makes the `ward` exchange a forwarding partner covering
/// those countries, or changes what it covers; audited as `forwarding.set`.
pub async fn set_partner(
    State(state): State<SharedState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(request): Json<PartnerRequest>,
) -> ApiResult<Json<Value>> {
    caller.require(KEEPERS)?;
    let exchange = ward_exchange(&state.store, &name).await?;
    let ack_timeout_ms = match request.ack_timeout_seconds {
        None => ACK_TIMEOUT_DEFAULT_MS,
        Some(seconds) => seconds
            .checked_mul(1000)
            .ok_or_else(|| ApiError::bad_request("ack_timeout_seconds is too large"))?,
    };
    let partner = state
        .store
        .set_forwarding_partner(
            &caller.actor(),
            exchange.id,
            &NewForwardingPartner {
                countries: request.countries,
                enabled: request.enabled,
                ack_timeout_ms,
            },
        )
        .await?;
    Ok(Json(partner_view(&partner)))
}

/// `DELETE /v1/forwarding/partners/{name}`: stops forwarding to it (its forwards stay).
pub async fn remove_partner(
    State(state): State<SharedState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(KEEPERS)?;
    let exchange = ward_exchange(&state.store, &name).await?;
    state
        .store
        .remove_forwarding_partner(&caller.actor(), exchange.id)
        .await?;
    Ok(Json(json!({ "removed": exchange.name })))
}

pub(crate) fn forward_view(forward: &UrlForward) -> Value {
    let time = |t: Option<Timestamp>| t.map(|t| t.to_rfc3339());
    json!({
        "id": forward.id,
        "url_id": forward.url,
        "url": forward.url_text,
        "direction": forward.direction.name(),
        "partner": forward.partner,
        "exchange": forward.exchange,
        "remote_id": forward.remote_id,
        "state": forward.state.name(),
        "country": forward.country,
        "origin": forward.origin,
        "created_at": forward.created_at.to_rfc3339(),
        "acknowledged_at": time(forward.acknowledged_at),
        "assessment": forward.assessment,
        "assessed_at": time(forward.assessed_at),
        "noticed_at": time(forward.noticed_at),
        "removed_at": time(forward.removed_at),
        "returned_at": time(forward.returned_at),
        "reason": forward.reason,
    })
}

#[derive(Debug, Deserialize)]
pub struct ForwardsRequest {
    direction: Option<String>,
    offset: Option<u32>,
    limit: Option<u32>,
}

/// `GET /v1/forwards?direction=out|in&offset=&limit=`: forwards one way (out by default),
/// newest first, at most 500 a page.
pub async fn forwards(
    State(state): State<SharedState>,
    caller: Caller,
    Query(request): Query<ForwardsRequest>,
) -> ApiResult<Json<Value>> {
    caller.require(ANALYSTS)?;
    let direction: ForwardDirection = request
        .direction
        .as_deref()
        .unwrap_or("out")
        .parse()
        .map_err(|_| ApiError::bad_request("direction is out or in"))?;
    let forwards = state
        .store
        .forwards(
            direction,
            request.offset.unwrap_or(0),
            request.limit.unwrap_or(100).clamp(1, 500),
        )
        .await?;
    let forwards: Vec<Value> = forwards.iter().map(forward_view).collect();
    Ok(Json(json!({ "forwards": forwards })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclineRequest {
    reason: String,
}

/// `POST /v1/forwards/{id}/decline` `{"reason"}`: declines a forward received; the origin
/// is told and has the report back (409 once the host has been noticed).
pub async fn decline(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(request): Json<DeclineRequest>,
) -> ApiResult<Json<Value>> {
    caller.require(ANALYSTS)?;
    let forward = state
        .store
        .decline_forward(&caller.actor(), id, &request.reason)
        .await?;
    Ok(Json(forward_view(&forward)))
}
