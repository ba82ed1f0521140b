//! `/admin/orgs`: the deployment's organisations for its admins, through `/v1/orgs`: which
//! runs the deployment, how many accounts and live keys each has (each links to its people
//! and keys), and a form that makes one.

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::ConsoleError;
use super::sections::Section;
use super::session::{ConsoleUser, Posted};
use super::view::{Header, answer};
use crate::serve::SharedState;
use crate::serve::orgs_api::{self, CreateRequest};

#[derive(Debug, Deserialize)]
struct OrgRow {
    id: i64,
    name: String,
    operator: bool,
    created_at: String,
    users: usize,
    keys: usize,
}

#[derive(Debug, Deserialize)]
struct Orgs {
    orgs: Vec<OrgRow>,
}

#[derive(Template)]
#[template(path = "orgs.html", config = "src/console/askama.toml")]
struct OrgsPage {
    header: Header,
    done: Option<&'static str>,
    orgs: Vec<OrgRow>,
}

#[derive(Debug, Deserialize)]
pub struct OrgsQuery {
    done: Option<String>,
}

/// `GET /admin/orgs`.
pub async fn page(
    State(state): State<SharedState>,
    user: ConsoleUser,
    Query(query): Query<OrgsQuery>,
) -> Result<Response, ConsoleError> {
    let header = Header::of(&state, &user, Section::Organisations).await?;
    let orgs: Orgs = answer(orgs_api::list(State(state.clone()), user.caller()).await)?;
    let done = match query.done.as_deref() {
        Some("created") => Some("The organisation is made. Make its administrator's account next."),
        _ => None,
    };
    let page = OrgsPage {
        header,
        done,
        orgs: orgs.orgs,
    };
    Ok(Html(page.render()?).into_response())
}

/// `POST /admin/orgs` (`name`).
pub async fn create(
    State(state): State<SharedState>,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    let request = CreateRequest {
        name: posted.form.get("name").unwrap_or_default().to_owned(),
    };
    let (_, Json(made)) = orgs_api::create(State(state), posted.by.caller(), Json(request)).await?;
    let id = made["id"].as_i64().unwrap_or_default();
    Ok(Redirect::to(&format!("/admin/orgs?done=created#org-{id}")).into_response())
}
