//! `/v1/contacts`: hosts' abuse contacts, where notices about their URLs go (as `ward admin
//! contact` keeps them): a pattern (a host name, covering its subdomains; the longest
//! covering pattern wins) with an e-mail address, a webhook, or both. Notices are the
//! deployment's (the hotline's), so only admins list and change them; the store checks the
//! addresses (an e-mail address that looks like one, an http or https URL with a host), the
//! same rules for the API and the command line.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};
use ward_store::{HostContact, Role, Store as _};

use super::SharedState;
use super::auth::Caller;
use super::error::ApiResult;

/// Who may call these routes.
pub(crate) const KEEPERS: &[Role] = &[Role::Admin];

fn contact_view(contact: &HostContact) -> Value {
    json!({
        "id": contact.id,
        "pattern": contact.pattern,
        "email": contact.email,
        "webhook": contact.webhook,
        "created_at": contact.created_at.to_rfc3339(),
    })
}

/// `GET /v1/contacts`: every contact, by pattern.
pub(crate) async fn list(
    State(state): State<SharedState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    caller.require(KEEPERS)?;
    let mut contacts = state.store.host_contacts().await?;
    contacts.sort_by(|a, b| a.pattern.cmp(&b.pattern));
    let contacts: Vec<Value> = contacts.iter().map(contact_view).collect();
    Ok(Json(json!({ "contacts": contacts })))
}

/// The body of `PUT /v1/contacts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContactRequest {
    pub(crate) pattern: String,
    pub(crate) email: Option<String>,
    pub(crate) webhook: Option<String>,
}

/// `PUT /v1/contacts`: sets a pattern's contact (replacing what was set for it).
pub(crate) async fn set(
    State(state): State<SharedState>,
    caller: Caller,
    Json(request): Json<ContactRequest>,
) -> ApiResult<Json<Value>> {
    caller.require(KEEPERS)?;
    let contact = state
        .store
        .set_host_contact(
            &caller.actor(),
            &request.pattern,
            request.email.as_deref(),
            request.webhook.as_deref(),
        )
        .await?;
    Ok(Json(contact_view(&contact)))
}

/// `DELETE /v1/contacts/{pattern}`: removes a pattern's contact (404 when it has none).
pub(crate) async fn remove(
    State(state): State<SharedState>,
    caller: Caller,
    Path(pattern): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(KEEPERS)?;
    state
        .store
        .remove_host_contact(&caller.actor(), &pattern)
        .await?;
    Ok(Json(json!({ "removed": pattern })))
}
