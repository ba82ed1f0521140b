//! `/admin/people`: the accounts and API keys of the organisations the signed-in person
//! administers (every one for admins, who may pick one with `?org=`; its own for an
//! organisation's administrator), through `/v1/users` and `/v1/keys`. Accounts are made
//! without a password: the answer page shows, once, the link with which the account's holder
//! chooses one (`/admin/welcome/{secret}`); a reset makes a new link. A key's secret is shown
//! once, on the answer to the form that made it (never after a redirect, never again).
//! Controls are shown only to those the API lets use them: an organisation's administrator
//! is offered no admin role, and no control over an admin's account or key.

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use ward_store::{Role, Store as _};

use super::error::ConsoleError;
use super::overview::IDLE_DAYS;
use super::sections::Section;
use super::session::{ConsoleUser, Posted};
use super::view::{Header, answer};
use crate::serve::SharedState;
use crate::serve::keys_api::{self, CreateRequest, ListRequest, NewAccount, UserChange};

/// The roles an account may have (platforms work through keys).
const ACCOUNT_ROLES: [Role; 5] = [
    Role::Admin,
    Role::OrgAdmin,
    Role::Curator,
    Role::Analyst,
    Role::Auditor,
];

/// The roles a key may have.
const KEY_ROLES: [Role; 6] = [
    Role::Admin,
    Role::OrgAdmin,
    Role::Curator,
    Role::Analyst,
    Role::Platform,
    Role::Auditor,
];

#[derive(Debug, Deserialize)]
struct UserRow {
    id: i64,
    name: String,
    org: i64,
    role: String,
    created_at: String,
    disabled_at: Option<String>,
    password_set: bool,
    #[serde(skip)]
    org_name: String,
    /// Whether the person may disable it or reset its password.
    #[serde(skip)]
    changeable: bool,
}

#[derive(Debug, Deserialize)]
struct Users {
    users: Vec<UserRow>,
}

#[derive(Debug, Deserialize)]
struct KeyRow {
    id: i64,
    org: i64,
    role: String,
    label: String,
    prefix: String,
    created_at: String,
    revoked_at: Option<String>,
    last_used_at: Option<String>,
    #[serde(skip)]
    org_name: String,
    #[serde(skip)]
    idle: bool,
    #[serde(skip)]
    revocable: bool,
}

#[derive(Debug, Deserialize)]
struct Keys {
    keys: Vec<KeyRow>,
}

/// An organisation in the forms' choices.
#[derive(Debug)]
struct OrgChoice {
    id: i64,
    name: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "people.html", config = "src/console/askama.toml")]
struct PeoplePage {
    header: Header,
    done: Option<&'static str>,
    /// The organisation shown (admins' `?org=`), by name.
    only: Option<String>,
    /// The organisations an admin may pick (empty for an organisation's administrator).
    orgs: Vec<OrgChoice>,
    users: Vec<UserRow>,
    keys: Vec<KeyRow>,
    account_roles: Vec<&'static str>,
    key_roles: Vec<&'static str>,
    idle_days: u32,
    me: i64,
}

/// What an answer page shows once: a password link or a key's secret.
#[derive(Template)]
#[template(path = "people_made.html", config = "src/console/askama.toml")]
struct MadePage {
    header: Header,
    title: &'static str,
    /// `link` or `key`.
    kind: &'static str,
    /// Whose it is: the account's name, or the key's label and role.
    whose: String,
    secret: String,
    expires_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PeopleQuery {
    org: Option<i64>,
    done: Option<String>,
}

/// The fixed message of a `?done=` code.
fn done_message(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "disabled" => "The account is disabled: its sessions ended and it cannot sign in.",
        "enabled" => "The account is enabled again.",
        "revoked" => "The key is revoked: it opens nothing from now on.",
        _ => return None,
    })
}

/// `GET /admin/people?org=`.
pub async fn page(
    State(state): State<SharedState>,
    user: ConsoleUser,
    Query(query): Query<PeopleQuery>,
) -> Result<Response, ConsoleError> {
    let header = Header::of(&state, &user, Section::People).await?;
    let admin = user.role() == Role::Admin;
    let asked = query.org.filter(|_| admin);
    let list = |unused_days| {
        Query(ListRequest {
            org: asked,
            unused_days,
        })
    };
    let users: Users =
        answer(keys_api::users(State(state.clone()), user.caller(), list(None)).await)?;
    let keys: Keys = answer(keys_api::list(State(state.clone()), user.caller(), list(None)).await)?;
    let idle: Keys =
        answer(keys_api::list(State(state.clone()), user.caller(), list(Some(IDLE_DAYS))).await)?;
    let orgs = state.store.orgs().await?;
    let name_of = |id: i64| {
        orgs.iter()
            .find(|o| o.id.0 == id)
            .map_or_else(|| id.to_string(), |o| o.name.clone())
    };
    // The API refuses the rest; these only decide which controls are shown.
    let may_touch = |role: &str| admin || role != Role::Admin.name();
    let users = users
        .users
        .into_iter()
        .map(|u| UserRow {
            org_name: name_of(u.org),
            changeable: may_touch(&u.role),
            ..u
        })
        .collect();
    let keys = keys
        .keys
        .into_iter()
        .map(|k| KeyRow {
            org_name: name_of(k.org),
            idle: idle.keys.iter().any(|i| i.id == k.id),
            revocable: k.revoked_at.is_none() && may_touch(&k.role),
            ..k
        })
        .collect();
    let chosen = asked.unwrap_or(user.user.org.0);
    let choices = if admin {
        orgs.iter()
            .map(|o| OrgChoice {
                id: o.id.0,
                name: o.name.clone(),
                selected: o.id.0 == chosen,
            })
            .collect()
    } else {
        Vec::new()
    };
    let offered = |roles: &[Role]| {
        roles
            .iter()
            .filter(|r| admin || **r != Role::Admin)
            .map(|r| r.name())
            .collect()
    };
    let page = PeoplePage {
        header,
        done: done_message(query.done.as_deref()),
        only: asked.map(name_of),
        orgs: choices,
        users,
        keys,
        account_roles: offered(&ACCOUNT_ROLES),
        key_roles: offered(&KEY_ROLES),
        idle_days: IDLE_DAYS,
        me: user.user.id.0,
    };
    Ok(Html(page.render()?).into_response())
}

/// The organisation a form names (admins; `None` for the person's own).
fn org_field(posted: &Posted) -> Result<Option<i64>, ConsoleError> {
    match posted.form.get("org").map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| ConsoleError::bad_request("the organisation is not a number")),
    }
}

/// `POST /admin/people/users` (`name`, `role`, `org`): makes the account, and shows its
/// password link once.
pub async fn create_user(
    State(state): State<SharedState>,
    headers: HeaderMap,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    let header = Header::of(&state, &posted.by, Section::People).await?;
    let request = NewAccount {
        name: posted.form.get("name").unwrap_or_default().to_owned(),
        role: posted.form.get("role").unwrap_or_default().to_owned(),
        org: org_field(&posted)?,
    };
    let result = keys_api::create_user(State(state.clone()), posted.by.caller(), Json(request))
        .await
        .map(|(_, json)| json);
    let made: Made = answer(result)?;
    link_page(&state, &headers, header, "Account made", made)
}

/// `POST /admin/people/users/{id}/password-link`: a new password link (the old password
/// stops working), shown once.
pub async fn password_link(
    State(state): State<SharedState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    let header = Header::of(&state, &posted.by, Section::People).await?;
    let result = keys_api::password_link(State(state.clone()), posted.by.caller(), Path(id))
        .await
        .map(|(_, json)| json);
    let made: Made = answer(result)?;
    link_page(&state, &headers, header, "New password link", made)
}

/// An account with its new password link, as the API answers it.
#[derive(Debug, Deserialize)]
struct Made {
    name: String,
    password_link: String,
    password_link_expires_at: String,
}

/// The answer that shows a password link, once, as a whole address the person can pass on.
fn link_page(
    state: &SharedState,
    headers: &HeaderMap,
    header: Header,
    title: &'static str,
    made: Made,
) -> Result<Response, ConsoleError> {
    let scheme = if state.config.secure_cookies {
        "https"
    } else {
        "http"
    };
    let origin = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .map(|host| format!("{scheme}://{host}"))
        .unwrap_or_default();
    let page = MadePage {
        header,
        title,
        kind: "link",
        whose: made.name,
        secret: format!("{origin}{}", made.password_link),
        expires_at: Some(made.password_link_expires_at),
    };
    Ok((StatusCode::CREATED, Html(page.render()?)).into_response())
}

/// `POST /admin/people/users/{id}/disabled` (`disabled`: `true` or `false`).
pub async fn set_disabled(
    State(state): State<SharedState>,
    Path(id): Path<i64>,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    let disabled = match posted.form.get("disabled") {
        Some("true") => true,
        Some("false") => false,
        _ => return Err(ConsoleError::bad_request("disabled is true or false")),
    };
    let change = UserChange { disabled };
    let _account =
        keys_api::update_user(State(state), posted.by.caller(), Path(id), Json(change)).await?;
    let done = if disabled { "disabled" } else { "enabled" };
    Ok(Redirect::to(&format!("/admin/people?done={done}#user-{id}")).into_response())
}

/// A key as the API answers its making: with its secret.
#[derive(Debug, Deserialize)]
struct MadeKey {
    role: String,
    label: String,
    key: String,
}

/// `POST /admin/people/keys` (`role`, `label`, `org`): makes a key and shows its secret,
/// once, on this answer.
pub async fn create_key(
    State(state): State<SharedState>,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    let header = Header::of(&state, &posted.by, Section::People).await?;
    let request = CreateRequest {
        role: posted.form.get("role").unwrap_or_default().to_owned(),
        label: posted.form.get("label").unwrap_or_default().to_owned(),
        org: org_field(&posted)?,
    };
    let result = keys_api::create(State(state.clone()), posted.by.caller(), Json(request))
        .await
        .map(|(_, json)| json);
    let made: MadeKey = answer(result)?;
    let page = MadePage {
        header,
        title: "Key made",
        kind: "key",
        whose: if made.label.is_empty() {
            format!("a {} key", made.role)
        } else {
            format!("{} ({})", made.label, made.role)
        },
        secret: made.key,
        expires_at: None,
    };
    Ok((StatusCode::CREATED, Html(page.render()?)).into_response())
}

/// `POST /admin/people/keys/{id}/revoke`.
pub async fn revoke_key(
    State(state): State<SharedState>,
    Path(id): Path<i64>,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    let _revoked = keys_api::revoke(State(state), posted.by.caller(), Path(id)).await?;
    Ok(Redirect::to(&format!("/admin/people?done=revoked#key-{id}")).into_response())
}
