//! `/v1/keys` and `/v1/users`: API keys and accounts managed by those who administer an
//! organisation ([`super::auth::Member::administers`]): the deployment's admins for every
//! organisation, an organisation's administrator (`org_admin`) for its own. A key's secret is
//! shown once, in the answer that makes it; lists show its prefix. An account's password is
//! its holder's: an administrator makes the account, or resets it, with a one-time password
//! link (`/admin/welcome/{secret}`, shown once, live for [`PASSWORD_LINK_LIFETIME`]) that
//! they pass on, and its holder chooses the password there (`crate::console::welcome`).
//! An organisation's administrator never makes, revokes or changes an `admin` key or account
//! (the deployment's), and another organisation's are not found for it.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use ward_store::{ApiKey, KeyId, OrgId, Role, Store as _, Timestamp};

use super::SharedState;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use crate::analyst::session::Secret;

/// Who may call these routes (admins always may).
const ADMINISTRATORS: &[Role] = &[Role::OrgAdmin];

/// Whether an organisation's keys or accounts are listed for `caller`: one it administers,
/// and the one it asked for (`?org=`) when it asked.
fn listed_for(caller: &Caller, asked: Option<i64>) -> impl Fn(OrgId) -> bool {
    let member = caller.member();
    move |org| member.administers(org) && asked.is_none_or(|asked| org == OrgId(asked))
}

/// The role and organisation of a new key or account (`what`: "keys", "accounts") that
/// `caller` asks for, when it may make it: of an organisation it administers (its own by
/// default), and of the admin role only by the deployment's admins (403 otherwise).
fn permitted(
    caller: &Caller,
    role: &str,
    org: Option<i64>,
    what: &str,
) -> ApiResult<(Role, OrgId)> {
    let role: Role = role.parse()?;
    let org = org.map_or(caller.org(), OrgId);
    if !caller.member().administers(org) {
        return Err(ApiError::forbidden(format!(
            "an organisation's administrator makes {what} of its own organisation only"
        )));
    }
    if role == Role::Admin && caller.role() != Role::Admin {
        return Err(ApiError::forbidden(format!(
            "only the deployment's admins make admin {what}"
        )));
    }
    Ok((role, org))
}

/// 404 unless `org` exists.
async fn existing_org(state: &SharedState, org: OrgId) -> ApiResult<()> {
    match state.store.org(org).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(format!("organisation {org} not found"))),
    }
}

fn key_view(key: &ApiKey) -> Value {
    json!({
        "id": key.id,
        "org": key.org,
        "role": key.role.name(),
        "label": key.label,
        "prefix": key.prefix,
        "created_at": key.created_at.to_rfc3339(),
        "revoked_at": key.revoked_at.map(|t| t.to_rfc3339()),
        "last_used_at": key.last_used_at.map(|t| t.to_rfc3339()),
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct ListRequest {
    /// Only this organisation's (admins; an organisation's administrator sees its own).
    pub(crate) org: Option<i64>,
    /// Only live keys not used for this many days (never used: made that long ago).
    pub(crate) unused_days: Option<u32>,
}

/// `GET /v1/keys?org=&unused_days=`: the keys of the organisations the caller administers,
/// revoked ones included, by id, each with when it was last used (as nodes report it, at
/// most a minute late); `unused_days` keeps the live keys idle that long.
pub async fn list(
    State(state): State<SharedState>,
    caller: Caller,
    Query(request): Query<ListRequest>,
) -> ApiResult<Json<Value>> {
    caller.require(ADMINISTRATORS)?;
    let listed = listed_for(&caller, request.org);
    let idle_since = request
        .unused_days
        .map(|days| Timestamp::now().0 - i64::from(days) * 86_400_000);
    let idle = |k: &ApiKey| {
        idle_since.is_none_or(|since| {
            k.revoked_at.is_none() && k.last_used_at.unwrap_or(k.created_at).0 < since
        })
    };
    let keys: Vec<Value> = state
        .store
        .keys()
        .await?
        .iter()
        .filter(|k| listed(k.org))
        .filter(|k| idle(k))
        .map(key_view)
        .collect();
    Ok(Json(json!({ "keys": keys })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    pub(crate) role: String,
    pub(crate) label: String,
    /// The organisation (admins; an organisation's administrator makes its own's).
    pub(crate) org: Option<i64>,
}

/// `POST /v1/keys` `{"role", "label", "org"?}`: a new key; its secret is in this answer
/// and nowhere else, ever.
pub async fn create(
    State(state): State<SharedState>,
    caller: Caller,
    Json(request): Json<CreateRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(ADMINISTRATORS)?;
    let (role, org) = permitted(&caller, &request.role, request.org, "keys")?;
    existing_org(&state, org).await?;
    let made = state
        .store
        .create_key(&caller.actor(), org, role, &request.label)
        .await?;
    let mut view = key_view(&made.key);
    view["key"] = Value::String(made.secret);
    Ok((StatusCode::CREATED, Json(view)))
}

/// `DELETE /v1/keys/{id}`: revokes a key of an organisation the caller administers (at
/// once on this node, within a poll of the store on the others); another's is not found.
pub async fn revoke(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    caller.require(ADMINISTRATORS)?;
    let member = caller.member();
    let known = state
        .store
        .keys()
        .await?
        .into_iter()
        .find(|k| k.id == KeyId(id) && member.administers(k.org));
    let Some(key) = known else {
        return Err(ApiError::not_found(format!("key {id} not found")));
    };
    if key.role == Role::Admin && caller.role() != Role::Admin {
        return Err(ApiError::forbidden(
            "only the deployment's admins revoke admin keys",
        ));
    }
    let revoked = state.store.revoke_key(&caller.actor(), key.id).await?;
    state.keys.forget(&[key.id]);
    Ok(Json(key_view(&revoked)))
}

fn user_view(user: &ward_store::User) -> Value {
    json!({
        "id": user.id,
        "name": user.name,
        "org": user.org,
        "role": user.role.name(),
        "created_at": user.created_at.to_rfc3339(),
        "disabled_at": user.disabled_at.map(|t| t.to_rfc3339()),
        "password_set": user.has_password(),
    })
}

/// `GET /v1/users?org=`: the accounts (the analyst's pages' users) of the organisations the
/// caller administers, disabled ones included, by id; never a password.
pub async fn users(
    State(state): State<SharedState>,
    caller: Caller,
    Query(request): Query<ListRequest>,
) -> ApiResult<Json<Value>> {
    caller.require(ADMINISTRATORS)?;
    let listed = listed_for(&caller, request.org);
    let users: Vec<Value> = state
        .store
        .users()
        .await?
        .iter()
        .filter(|u| listed(u.org))
        .map(user_view)
        .collect();
    Ok(Json(json!({ "users": users })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    pub(crate) disabled: bool,
}

/// `PATCH /v1/users/{id}` `{"disabled": bool}`: disables an account of an organisation the
/// caller administers (which ends its sessions) or enables it again; another's is not
/// found, and only admins change an admin's.
pub async fn update_user(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(change): Json<UserChange>,
) -> ApiResult<Json<Value>> {
    let user = administered_user(&state, &caller, id).await?;
    state
        .store
        .set_user_disabled(&caller.actor(), user.id, change.disabled)
        .await?;
    let user = state
        .store
        .user(user.id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {id} not found")))?;
    Ok(Json(user_view(&user)))
}

/// An account of an organisation the caller administers and whose account it may change
/// (only admins change an admin's); another's is not found.
async fn administered_user(
    state: &SharedState,
    caller: &Caller,
    id: i64,
) -> ApiResult<ward_store::User> {
    caller.require(ADMINISTRATORS)?;
    let member = caller.member();
    let user = state
        .store
        .user(ward_store::UserId(id))
        .await?
        .filter(|u| member.administers(u.org))
        .ok_or_else(|| ApiError::not_found(format!("user {id} not found")))?;
    if user.role == Role::Admin && caller.role() != Role::Admin {
        return Err(ApiError::forbidden(
            "only the deployment's admins change an admin's account",
        ));
    }
    Ok(user)
}

/// How long a password link may be used.
pub const PASSWORD_LINK_LIFETIME: std::time::Duration = std::time::Duration::from_secs(72 * 3600);

/// Where a password link's holder chooses their password: its secret follows.
pub const PASSWORD_LINK_PATH: &str = "/admin/welcome/";

/// Makes a password link for `user` (replacing any earlier one; their password stops
/// working and their sessions end) and answers the account with the link, which is in this
/// answer only: the store keeps its digest.
async fn with_password_link(
    state: &SharedState,
    caller: &Caller,
    user: &ward_store::User,
) -> ApiResult<Value> {
    let secret = Secret::random().map_err(|e| ApiError::internal(format!("{e:#}")))?;
    let expires = Timestamp(Timestamp::now().0 + PASSWORD_LINK_LIFETIME.as_millis() as i64);
    state
        .store
        .set_password_link(&caller.actor(), user.id, &secret.digest(), expires)
        .await?;
    let user = state
        .store
        .user(user.id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {} not found", user.id)))?;
    let mut view = user_view(&user);
    view["password_link"] = Value::String(format!("{PASSWORD_LINK_PATH}{}", secret.as_str()));
    view["password_link_expires_at"] = Value::String(expires.to_rfc3339());
    Ok(view)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub(crate) name: String,
    pub(crate) role: String,
    /// The organisation (admins; an organisation's administrator makes its own's).
    pub(crate) org: Option<i64>,
}

/// `POST /v1/users` `{"name", "role", "org"?}`: an account without a password, of an
/// organisation the caller administers, and the one-time link with which its holder
/// chooses one (201; the link is in this answer only). Only admins make admin accounts;
/// platforms work through keys and have none.
pub async fn create_user(
    State(state): State<SharedState>,
    caller: Caller,
    Json(request): Json<NewAccount>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(ADMINISTRATORS)?;
    let (role, org) = permitted(&caller, &request.role, request.org, "accounts")?;
    if role == Role::Platform {
        return Err(ApiError::bad_request(
            "platforms work through keys: an account of the platform role opens no page",
        ));
    }
    existing_org(&state, org).await?;
    let user = state
        .store
        .create_user(
            &caller.actor(),
            &ward_store::NewUser {
                name: request.name,
                org,
                role,
                password_hash: String::new(),
            },
        )
        .await?;
    let view = with_password_link(&state, &caller, &user).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// `POST /v1/users/{id}/password-link`: a new one-time password link for an account the
/// caller may change (201; in this answer only), replacing any earlier one. The account's
/// password stops working at once and its sessions end: a reset shuts out whoever knows
/// the old one, until the link's holder chooses a new one.
pub async fn password_link(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let user = administered_user(&state, &caller, id).await?;
    let view = with_password_link(&state, &caller, &user).await?;
    Ok((StatusCode::CREATED, Json(view)))
}
