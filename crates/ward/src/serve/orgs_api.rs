//! `/v1/orgs`: the deployment's organisations, listed and made by its admins (the operator's
//! administrators); an organisation's own administrator manages its people and keys
//! (`keys_api`) but never sees the others.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use ward_store::{Organisation, Role, Store as _};

use super::SharedState;
use super::auth::Caller;
use super::error::ApiResult;

/// Who may call these routes: the deployment's admins only.
const OPERATORS: &[Role] = &[Role::Admin];

fn org_view(org: &Organisation, users: usize, keys: usize) -> Value {
    json!({
        "id": org.id,
        "name": org.name,
        "operator": org.operator,
        "created_at": org.created_at.to_rfc3339(),
        "users": users,
        "keys": keys,
    })
}

/// `GET /v1/orgs`: every organisation, by id, with whether it runs the deployment and how
/// many accounts (disabled ones included) and live keys it has.
pub async fn list(State(state): State<SharedState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(OPERATORS)?;
    let users = state.store.users().await?;
    let keys = state.store.keys().await?;
    let orgs: Vec<Value> = state
        .store
        .orgs()
        .await?
        .iter()
        .map(|org| {
            let users = users.iter().filter(|u| u.org == org.id).count();
            let keys = keys
                .iter()
                .filter(|k| k.org == org.id && k.revoked_at.is_none())
                .count();
            org_view(org, users, keys)
        })
        .collect();
    Ok(Json(json!({ "orgs": orgs })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    pub(crate) name: String,
}

/// `POST /v1/orgs` `{"name"}`: a new organisation (409 when the name is taken), logged as
/// `org.create`.
pub async fn create(
    State(state): State<SharedState>,
    caller: Caller,
    Json(request): Json<CreateRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(OPERATORS)?;
    let org = state
        .store
        .create_org(&caller.actor(), &request.name)
        .await?;
    Ok((StatusCode::CREATED, Json(org_view(&org, 0, 0))))
}
