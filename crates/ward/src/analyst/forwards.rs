//! Reports that cross borders, as analysts see them: on an item's page, where it was
//! forwarded and what became of it (or, for a URL a partner hotline forwarded here, the
//! origin's assessment, with a form to decline it); in the queue, which items came from a
//! partner; and `/analyst/forwards`, every forward either way with where it stands.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use ward_store::{ForwardAssessment, ForwardDirection, ForwardState, Store as _, UrlForward};

use super::error::PageError;
use super::session::Analyst;
use super::view::{FormFields, Header};
use crate::serve::SharedState;

/// Forwards on a page of the list, each way.
const PAGE: u32 = 100;

/// A forward as the pages show it.
#[derive(Debug)]
pub struct ForwardView {
    pub id: i64,
    pub url_id: i64,
    pub url: String,
    /// `to` or `from`.
    pub way: &'static str,
    pub partner: String,
    pub country: String,
    /// `sent`, `received`, ... (a class name too).
    pub state: &'static str,
    /// Where it stands, as people read it.
    pub state_text: String,
    pub forwarded_at: String,
    /// What the other hotline said: the partner's assessment of a forward out, the
    /// origin's of one received.
    pub assessment: String,
    /// The origin's reference and times, for a forward received.
    pub origin: Option<String>,
    /// Times of what followed: acknowledged, assessed, noticed, removed, returned.
    pub steps: Vec<(&'static str, String)>,
    pub reason: Option<String>,
    /// A forward received that this hotline may still decline.
    pub declinable: bool,
}

fn assessment_text(assessment: Option<&ForwardAssessment>) -> String {
    match assessment {
        None => "—".to_owned(),
        Some(a) => format!(
            "{}, {} (UK {}, industry {})",
            a.age_group.replace('_', " "),
            a.activity.replace('_', " "),
            a.uk.as_deref().unwrap_or("—"),
            a.industry.as_deref().unwrap_or("—")
        ),
    }
}

fn state_text(forward: &UrlForward) -> String {
    let partner = &forward.partner;
    match (forward.direction, forward.state) {
        (ForwardDirection::Out, ForwardState::Sent) => {
            format!("forwarded to {partner}, not acknowledged yet")
        }
        (ForwardDirection::Out, ForwardState::Received) => format!("with {partner}"),
        (ForwardDirection::Out, ForwardState::Assessed) => {
            format!("assessed by {partner}, host not noticed yet")
        }
        (ForwardDirection::Out, ForwardState::Noticed) => {
            format!("host noticed by {partner}")
        }
        (ForwardDirection::Out, ForwardState::Removed) => format!("removed ({partner})"),
        (ForwardDirection::Out, ForwardState::Declined) => {
            format!("declined by {partner}: back with this hotline")
        }
        (ForwardDirection::Out, ForwardState::Disagreed) => {
            format!("{partner} found nothing to act on: back with this hotline")
        }
        (ForwardDirection::Out, ForwardState::TimedOut) => {
            format!("not acknowledged by {partner} in time: back with this hotline")
        }
        (ForwardDirection::Out, ForwardState::Withdrawn) => {
            format!("no longer forwarded to {partner}: back with this hotline")
        }
        (ForwardDirection::In, ForwardState::Received) => {
            format!("forwarded by {partner}: to assess here")
        }
        (ForwardDirection::In, ForwardState::Assessed) => {
            "assessed here, host not noticed yet".to_owned()
        }
        (ForwardDirection::In, ForwardState::Noticed) => "host noticed".to_owned(),
        (ForwardDirection::In, ForwardState::Removed) => "removed".to_owned(),
        (ForwardDirection::In, ForwardState::Declined) => {
            format!("declined here: back with {partner}")
        }
        (ForwardDirection::In, ForwardState::Disagreed) => {
            format!("nothing to act on here: back with {partner}")
        }
        (ForwardDirection::In, ForwardState::Recalled) => {
            format!("recalled by {partner}")
        }
        (_, state) => state.name().replace('_', " "),
    }
}

impl ForwardView {
    pub fn of(forward: &UrlForward) -> ForwardView {
        let time = |t: Option<ward_store::Timestamp>| t.map(|t| t.to_rfc3339());
        let steps = [
            ("Acknowledged", time(forward.acknowledged_at)),
            ("Assessed", time(forward.assessed_at)),
            ("Host noticed", time(forward.noticed_at)),
            ("Removed", time(forward.removed_at)),
            ("Returned", time(forward.returned_at)),
        ]
        .into_iter()
        .filter_map(|(what, at)| Some((what, at?)))
        .collect();
        let (way, assessment, origin) = match forward.direction {
            ForwardDirection::Out => ("to", assessment_text(forward.assessment.as_ref()), None),
            ForwardDirection::In => {
                let origin = forward.origin.as_ref();
                (
                    "from",
                    assessment_text(origin.and_then(|o| o.assessment.as_ref())),
                    origin.map(|o| {
                        format!(
                            "their reference {}; first reported {}; assessed by {}{}",
                            o.reference,
                            o.first_reported_at.to_rfc3339(),
                            if o.assessed_by == "hash" {
                                "a bank's hash"
                            } else {
                                "an analyst"
                            },
                            o.assessed_at
                                .map(|t| format!(" {}", t.to_rfc3339()))
                                .unwrap_or_default()
                        )
                    }),
                )
            }
        };
        ForwardView {
            id: forward.id,
            url_id: forward.url.0,
            url: forward.url_text.clone(),
            way,
            partner: forward.partner.clone(),
            country: forward.country.clone(),
            state: forward.state.name(),
            state_text: state_text(forward),
            forwarded_at: forward.created_at.to_rfc3339(),
            assessment,
            origin,
            steps,
            reason: forward.reason.clone(),
            declinable: forward.direction == ForwardDirection::In
                && matches!(
                    forward.state,
                    ForwardState::Received | ForwardState::Assessed
                ),
        }
    }
}

#[derive(Template)]
#[template(path = "forwards.html", config = "src/analyst/askama.toml")]
struct ForwardsPage {
    header: Option<Header>,
    sections: Vec<Section>,
    from: u32,
    next_page: Option<u32>,
}

/// One table of the list: forwards received, or made.
struct Section {
    title: &'static str,
    id: &'static str,
    rows: Vec<ForwardView>,
}

#[derive(Debug, Deserialize)]
pub struct ForwardsQuery {
    from: Option<u32>,
}

/// `GET /analyst/forwards`: forwards received from partners and made to them, newest
/// first.
pub async fn page(
    State(state): State<SharedState>,
    analyst: Analyst,
    Query(query): Query<ForwardsQuery>,
) -> Result<Response, PageError> {
    let from = query.from.unwrap_or(0);
    let received = state
        .store
        .forwards(ForwardDirection::In, from, PAGE)
        .await?;
    let sent = state
        .store
        .forwards(ForwardDirection::Out, from, PAGE)
        .await?;
    let full = received.len() == PAGE as usize || sent.len() == PAGE as usize;
    let page = ForwardsPage {
        header: Some(Header::of(&state, &analyst).await?),
        sections: vec![
            Section {
                title: "Received from partners",
                id: "received",
                rows: received.iter().map(ForwardView::of).collect(),
            },
            Section {
                title: "Forwarded to partners",
                id: "sent",
                rows: sent.iter().map(ForwardView::of).collect(),
            },
        ],
        from,
        next_page: full.then(|| from.saturating_add(PAGE)),
    };
    Ok(Html(page.render()?).into_response())
}

/// `POST /analyst/forwards/{id}/decline` (`csrf`, `reason`): declines a forward received;
/// back to the item.
pub async fn decline(
    State(state): State<SharedState>,
    analyst: Result<Analyst, PageError>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let analyst = analyst.map_err(PageError::not_a_page)?;
    let form = FormFields::parse(&body);
    analyst.check_csrf(form.get("csrf"))?;
    let reason = form.get("reason").unwrap_or_default().trim();
    if reason.is_empty() {
        return Err(PageError::BadRequest(
            "say why the forward is declined".into(),
        ));
    }
    let forward = state
        .store
        .decline_forward(&ward_store::Actor::user(&analyst.user), id, reason)
        .await?;
    Ok(Redirect::to(&format!("/analyst/url/{}", forward.url)).into_response())
}
