//! `/admin/audit`: the audit log searched by who (the actor's beginning), what (the action's
//! beginning), target and days, newest first, a page at a time, in the person's audit scope
//! (as `/v1/audit` decides: their organisation's, or the deployment's for admins and the
//! operator's auditors); `/admin/audit.csv`: the same selection as a CSV download, with
//! cells that a spreadsheet would read as a formula made inert.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::error::ConsoleError;
use super::sections::Section;
use super::session::ConsoleUser;
use super::view::{Header, answer};
use crate::serve::SharedState;
use crate::serve::api::{AuditRequest, audit_log};

/// Events a page shows.
const PAGE: u32 = 50;

/// Events a CSV holds at most (the API's largest page).
const CSV_ROWS: u32 = 10_000;

/// The search, as the form sends it.
#[derive(Debug, Default, Deserialize)]
pub struct Search {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// The page after the one that ended at this id.
    before: Option<i64>,
}

impl Search {
    fn request(&self, limit: u32) -> AuditRequest {
        let given = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
        AuditRequest {
            actor: given(&self.actor),
            action: given(&self.action),
            target: given(&self.target),
            from: given(&self.from),
            to: given(&self.to),
            before: self.before,
            order: Some("newest".to_owned()),
            limit: Some(limit),
            ..AuditRequest::default()
        }
    }

    /// The search as a query string (for the next page and the CSV link).
    fn query(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("actor", &self.actor),
            ("action", &self.action),
            ("target", &self.target),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !value.trim().is_empty() {
                query.append_pair(name, value.trim());
            }
        }
        query.finish()
    }
}

/// An event as `/v1/audit` answers it.
#[derive(Debug, Deserialize)]
struct Event {
    id: i64,
    at: String,
    actor: String,
    action: String,
    target: String,
    detail: Value,
}

#[derive(Debug, Deserialize)]
struct Events {
    events: Vec<Event>,
}

#[derive(Debug)]
struct EventRow {
    id: i64,
    at: String,
    actor: String,
    action: String,
    target: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "audit.html", config = "src/console/askama.toml")]
struct AuditPage {
    header: Header,
    search: Search,
    events: Vec<EventRow>,
    /// The link to the next (older) page, when there may be one.
    older: Option<String>,
    /// The search's query string, for the CSV link and the first page.
    query: String,
    paged: bool,
}

async fn events(
    state: &SharedState,
    user: &ConsoleUser,
    search: &Search,
    limit: u32,
) -> Result<Vec<Event>, ConsoleError> {
    let result = audit_log(
        State(state.clone()),
        user.caller(),
        Query(search.request(limit)),
    )
    .await;
    Ok(answer::<Events>(result)?.events)
}

fn detail_text(detail: &Value) -> String {
    match detail {
        Value::Null => String::new(),
        Value::Object(o) if o.is_empty() => String::new(),
        other => other.to_string(),
    }
}

/// `GET /admin/audit`.
pub async fn page(
    State(state): State<SharedState>,
    user: ConsoleUser,
    Query(search): Query<Search>,
) -> Result<Response, ConsoleError> {
    let header = Header::of(&state, &user, Section::Audit).await?;
    let found = events(&state, &user, &search, PAGE).await?;
    let query = search.query();
    let older = (found.len() == PAGE as usize).then(|| {
        let last = found.last().map_or(0, |e| e.id);
        if query.is_empty() {
            format!("/admin/audit?before={last}")
        } else {
            format!("/admin/audit?{query}&before={last}")
        }
    });
    let page = AuditPage {
        header,
        paged: search.before.is_some(),
        events: found
            .into_iter()
            .map(|e| EventRow {
                id: e.id,
                at: e.at,
                actor: e.actor,
                action: e.action,
                target: e.target,
                detail: detail_text(&e.detail),
            })
            .collect(),
        older,
        query,
        search,
    };
    Ok(Html(page.render()?).into_response())
}

/// `GET /admin/audit.csv`: the search's events (up to 10,000, newest first) as CSV.
pub async fn csv(
    State(state): State<SharedState>,
    user: ConsoleUser,
    Query(search): Query<Search>,
) -> Result<Response, ConsoleError> {
    super::view::opens(&user, Section::Audit)?;
    let found = events(&state, &user, &search, CSV_ROWS).await?;
    let mut text = String::from("id,at,actor,action,target,detail\r\n");
    for e in &found {
        let cells = [
            e.id.to_string(),
            e.at.clone(),
            e.actor.clone(),
            e.action.clone(),
            e.target.clone(),
            detail_text(&e.detail),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        text.push_str(&line.join(","));
        text.push_str("\r\n");
    }
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                CONTENT_DISPOSITION,
                "attachment; filename=\"ward-audit.csv\"",
            ),
            (CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response())
}

/// A CSV cell: quoted when it holds a comma, a quote or a line break; a cell a spreadsheet
/// would run as a formula (beginning with `=`, `+`, `-`, `@`, a tab or a carriage return)
/// begins with an apostrophe instead, so that it is shown as text.
fn csv_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn cells_are_quoted_and_never_formulas() {
        let check = |cell: &str, expected: &str| assert_eq!(csv_cell(cell), expected, "{cell}");
        check("bank.create", "bank.create");
        check("", "");
        check("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\"");
        check("+1", "'+1");
        check("-2+3", "'-2+3");
        check("@SUM(A1)", "'@SUM(A1)");
        check("\tx", "'\tx");
        check("a,b", "\"a,b\"");
        check("say \"hi\"", "\"say \"\"hi\"\"\"");
        check("two\nlines", "\"two\nlines\"");
        check("user:a=b", "user:a=b");
    }
}
