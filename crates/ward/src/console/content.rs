//! `/admin/content/{id}`: a content item's signals, categories, provenance, opinions, notes,
//! series, exchange feedback and audit trail, as far as the person may read each; its
//! managers enable, disable and remove it, its owners' analysts and curators assess it, and
//! analysts and curators confirm or dispute it, each through the `/v1` handler that decides
//! whether they may.

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use ward_core::categories::{Activity, AgeGroup};
use ward_store::{ContentId, Role, Store as _};

use super::banks::{CategoriesView, LabelView, ProvenanceView, SignalView};
use super::error::ConsoleError;
use super::sections::Section;
use super::session::{ConsoleUser, Posted};
use super::view::{Header, answer};
use crate::serve::SharedState;
use crate::serve::api;

/// The roles that give opinions (`PUT /v1/content/{id}/opinion`).
const OPINION_ROLES: &[Role] = &[Role::Analyst, Role::Curator];

/// A content item as `GET /v1/content/{id}` answers it.
#[derive(Debug, Deserialize)]
struct ContentView {
    id: i64,
    bank: i64,
    enabled: bool,
    signals: Vec<SignalView>,
    categories: Option<CategoriesView>,
    provenance: ProvenanceView,
    opinions: Vec<OpinionView>,
    opinion_status: String,
    external_id: Option<String>,
    label: Option<LabelView>,
    attributes: Vec<(String, String)>,
    /// Only for those who read its exchange's feedback.
    feedback: Option<Vec<FeedbackView>>,
}

#[derive(Debug, Deserialize)]
struct OpinionView {
    org: i64,
    opinion: String,
    at: String,
}

#[derive(Debug, Deserialize)]
struct FeedbackView {
    exchange: i64,
    opinion: String,
    state: String,
    tries: i64,
    created_at: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AuditView {
    at: String,
    actor: String,
    action: String,
    detail: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct AuditEvents {
    events: Vec<AuditView>,
}

/// An opinion as the page lists it, with its organisation's name.
#[derive(Debug)]
struct OpinionRow {
    org: String,
    opinion: String,
    at: String,
}

/// An audit event as the page lists it.
#[derive(Debug)]
struct AuditRow {
    at: String,
    actor: String,
    action: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "content.html", config = "src/console/askama.toml")]
struct ContentPage {
    header: Header,
    done: Option<&'static str>,
    item: ContentView,
    bank_name: String,
    opinions: Vec<OpinionRow>,
    /// The person's organisation's opinion of it.
    own_opinion: String,
    note: Option<String>,
    metadata: Option<String>,
    series: Option<i64>,
    /// The audit trail, for those who read the audit log.
    audit: Option<Vec<AuditRow>>,
    manages: bool,
    assesses: bool,
    gives_opinions: bool,
    age_groups: Vec<&'static str>,
    activities: Vec<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
}

fn done_message(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "enabled" => "The item is enabled: its signals match again.",
        "disabled" => "The item is disabled: its signals no longer match.",
        "assessed" => "The assessment was saved.",
        "opinion" => "Your organisation's opinion was saved.",
        _ => return None,
    })
}

/// `GET /admin/content/{id}`.
pub async fn page(
    State(state): State<SharedState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Query(done): Query<Done>,
) -> Result<Response, ConsoleError> {
    let header = Header::of(&state, &user, Section::Banks).await?;
    let item: ContentView =
        answer(api::get_content(State(state.clone()), user.caller(), Path(id)).await)?;
    let bank = state
        .store
        .bank(ward_store::BankId(item.bank))
        .await?
        .ok_or_else(|| ConsoleError::not_found(format!("content {id} not found")))?;
    let member = user.member();
    let orgs = state.store.orgs().await?;
    let org_name = |id: i64| {
        orgs.iter()
            .find(|o| o.id.0 == id)
            .map_or_else(|| id.to_string(), |o| o.name.clone())
    };
    let opinions = item
        .opinions
        .iter()
        .map(|o| OpinionRow {
            org: org_name(o.org),
            opinion: o.opinion.clone(),
            at: o.at.clone(),
        })
        .collect();
    let own_opinion = item
        .opinions
        .iter()
        .find(|o| o.org == user.user.org.0)
        .map_or_else(String::new, |o| o.opinion.clone());
    let notes = state.store.content_notes(ContentId(id)).await?;
    let series = state
        .store
        .match_summaries(&[ContentId(id)])
        .await?
        .first()
        .and_then(|s| s.series)
        .map(|s| s.id.0);
    let audit = if user.may(&[Role::Auditor]) {
        let query = Query::try_from_uri(
            &format!("/v1/audit?target=content:{id}&limit=200")
                .parse()
                .expect("a URI"),
        )
        .map_err(|e| ConsoleError::internal(anyhow::anyhow!("{e}")))?;
        let events: AuditEvents =
            answer(api::audit_log(State(state.clone()), user.caller(), query).await)?;
        Some(
            events
                .events
                .into_iter()
                .map(|e| AuditRow {
                    at: e.at,
                    actor: e.actor,
                    action: e.action,
                    detail: e.detail.map_or_else(String::new, |d| match d {
                        Value::Null => String::new(),
                        Value::Object(fields) if fields.is_empty() => String::new(),
                        Value::String(s) => s,
                        other => other.to_string(),
                    }),
                })
                .collect(),
        )
    } else {
        None
    };
    let manages = member.manages(&bank);
    let page = ContentPage {
        header,
        done: done_message(done.done.as_deref()),
        bank_name: bank.name.clone(),
        opinions,
        own_opinion,
        note: notes.note,
        metadata: notes.metadata,
        series,
        audit,
        manages,
        // As `PATCH /v1/content/{id}` lets them: its managers, and its owners' analysts.
        assesses: manages || (user.role() == Role::Analyst && bank.org == user.user.org),
        gives_opinions: user.may(OPINION_ROLES),
        age_groups: AgeGroup::ALL.iter().map(|a| a.name()).collect(),
        activities: Activity::ALL.iter().map(|a| a.name()).collect(),
        item,
    };
    Ok(Html(page.render()?).into_response())
}

fn patch(fields: Value) -> Result<api::ContentPatch, ConsoleError> {
    serde_json::from_value(fields).map_err(|e| ConsoleError::bad_request(e.to_string()))
}

fn back(id: i64, done: &str) -> Response {
    Redirect::to(&format!("/admin/content/{id}?done={done}")).into_response()
}

/// `POST /admin/content/{id}/enabled` (`enabled=true|false`; `PATCH /v1/content/{id}`).
pub async fn set_enabled(
    State(state): State<SharedState>,
    Path(id): Path<i64>,
    Posted { by, form }: Posted,
) -> Result<Response, ConsoleError> {
    let enabled = match form.get("enabled") {
        Some("true") => true,
        Some("false") => false,
        _ => return Err(ConsoleError::bad_request("enabled is true or false")),
    };
    let _ = api::update_content(
        State(state),
        by.caller(),
        Path(id),
        Json(patch(json!({ "enabled": enabled }))?),
    )
    .await?;
    Ok(back(id, if enabled { "enabled" } else { "disabled" }))
}

/// `POST /admin/content/{id}/categories` (`age_group` and `activity`, or `clear`; `PATCH
/// /v1/content/{id}`).
pub async fn assess(
    State(state): State<SharedState>,
    Path(id): Path<i64>,
    Posted { by, form }: Posted,
) -> Result<Response, ConsoleError> {
    let categories = if form.get("clear").is_some() {
        Value::Null
    } else {
        json!({
            "age_group": form.get("age_group").unwrap_or_default(),
            "activity": form.get("activity").unwrap_or_default(),
        })
    };
    let _ = api::update_content(
        State(state),
        by.caller(),
        Path(id),
        Json(patch(json!({ "categories": categories }))?),
    )
    .await?;
    Ok(back(id, "assessed"))
}

/// `POST /admin/content/{id}/remove` (`DELETE /v1/content/{id}`): back to its bank.
pub async fn remove(
    State(state): State<SharedState>,
    Path(id): Path<i64>,
    Posted { by, .. }: Posted,
) -> Result<Response, ConsoleError> {
    // Its bank, read before it goes (as the person sees it: the API refuses what they
    // may not see).
    let item: ContentView =
        answer(api::get_content(State(state.clone()), by.caller(), Path(id)).await)?;
    api::remove_content(State(state), by.caller(), Path(id)).await?;
    Ok(Redirect::to(&format!("/admin/banks/{}?done=removed", item.bank)).into_response())
}

/// `POST /admin/content/{id}/opinion` (`opinion=confirm|dispute|withdraw`; `PUT
/// /v1/content/{id}/opinion`).
pub async fn opinion(
    State(state): State<SharedState>,
    Path(id): Path<i64>,
    Posted { by, form }: Posted,
) -> Result<Response, ConsoleError> {
    let opinion = match form.get("opinion") {
        Some("withdraw") => Value::Null,
        Some(kind) => json!(kind),
        None => {
            return Err(ConsoleError::bad_request(
                "opinion is confirm, dispute or withdraw",
            ));
        }
    };
    let request: api::OpinionRequest = serde_json::from_value(json!({ "opinion": opinion }))
        .map_err(|e| ConsoleError::bad_request(e.to_string()))?;
    let _ = api::set_opinion(State(state), by.caller(), Path(id), Json(request)).await?;
    Ok(back(id, "opinion"))
}
