//! `/admin/contacts`: hosts' abuse contacts, where notices about their URLs go (the
//! deployment's, kept by admins, as `ward admin contact` keeps them): the list, a form that
//! adds or changes one, and a button to remove each, through `/v1/contacts`' handlers
//! ([`crate::serve::contacts`]), which check the addresses.

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::ConsoleError;
use super::sections::Section;
use super::session::{ConsoleUser, Posted};
use super::view::{Header, answer};
use crate::serve::SharedState;
use crate::serve::contacts::{self, ContactRequest};

/// What a form did, said by a fixed message (never text from the query).
fn done_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "set" => "The contact was saved.",
        "removed" => "The contact was removed.",
        _ => return None,
    })
}

#[derive(Debug, Deserialize)]
struct Contact {
    pattern: String,
    email: Option<String>,
    webhook: Option<String>,
    created_at: String,
}

#[derive(Debug, Deserialize)]
struct Contacts {
    contacts: Vec<Contact>,
}

#[derive(Template)]
#[template(path = "contacts.html", config = "src/console/askama.toml")]
struct ContactsPage {
    header: Header,
    done: Option<&'static str>,
    contacts: Vec<Contact>,
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// `GET /admin/contacts`.
pub async fn page(
    State(state): State<SharedState>,
    user: ConsoleUser,
    Query(query): Query<DoneQuery>,
) -> Result<Response, ConsoleError> {
    let header = Header::of(&state, &user, Section::Contacts).await?;
    let listed: Contacts = answer(contacts::list(State(state.clone()), user.caller()).await)?;
    let page = ContactsPage {
        header,
        done: query.done.as_deref().and_then(done_message),
        contacts: listed.contacts,
    };
    Ok(Html(page.render()?).into_response())
}

/// `POST /admin/contacts`: `pattern`, `email`, `webhook` (either may be empty, not both).
pub async fn set(
    State(state): State<SharedState>,
    Posted { by, form }: Posted,
) -> Result<Response, ConsoleError> {
    super::view::opens(&by, Section::Contacts)?;
    let given = |name: &str| {
        form.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let request = ContactRequest {
        pattern: given("pattern").unwrap_or_default(),
        email: given("email"),
        webhook: given("webhook"),
    };
    let _saved = contacts::set(State(state.clone()), by.caller(), Json(request)).await?;
    Ok(Redirect::to("/admin/contacts?done=set").into_response())
}

/// `POST /admin/contacts/{pattern}/remove`.
pub async fn remove(
    State(state): State<SharedState>,
    Path(pattern): Path<String>,
    Posted { by, .. }: Posted,
) -> Result<Response, ConsoleError> {
    super::view::opens(&by, Section::Contacts)?;
    let _removed = contacts::remove(State(state.clone()), by.caller(), Path(pattern)).await?;
    Ok(Redirect::to("/admin/contacts?done=removed").into_response())
}
