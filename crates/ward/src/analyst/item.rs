//! One reported URL: its facts, its preview, and the assessment form. The analyst records
//! the granular facts (age group, activity); each scheme's label is derived from them by
//! `ward_core::categories`, never chosen. Confirmed content can be added to one of the
//! organisation's banks in the same step. A decision can be changed later, and every
//! decision is in the audit log.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use ward_core::categories::{Activity, AgeGroup, Assessment};
use ward_store::{
    Actor, Bank, BankId, BankKind, Decision, ReportedUrl, Role, Store as _, Timestamp, UrlId,
    UrlState,
};

use super::error::PageError;
use super::queue::next_after;
use super::session::Analyst;
use super::view::{FormFields, Header, age, match_state};
use crate::serve::SharedState;

/// How long a reveal lasts before the preview is blurred again (the script's timer, and
/// the no-script reveal's lifetime in `reveal.rs`).
pub const REVEAL_SECONDS: u32 = 20;

/// The states in which an analyst decides (again, to change a decision).
const ASSESSABLE: &[UrlState] = &[
    UrlState::Queued,
    UrlState::Assessed,
    UrlState::NotActionable,
];

#[derive(Debug, Deserialize)]
pub struct ItemQuery {
    /// The item decided just before, to link back to it.
    previous: Option<i64>,
}

/// The item's facts as the page shows them.
#[derive(Debug)]
struct ItemView {
    id: UrlId,
    url: String,
    age: String,
    reported_at: String,
    fetched_at: String,
    reports: u32,
    match_state: &'static str,
    match_class: &'static str,
    state: &'static str,
    media: String,
    sha256: String,
    /// Where it was hosted when fetched: each address with its country and network.
    hosting: Vec<String>,
    is_video: bool,
    has_evidence: bool,
    assessable: bool,
    decision: Option<String>,
    /// The matched content's series.
    series: Option<super::queue::SeriesCell>,
    /// Its forwards to partner hotlines, or from one.
    forwards: Vec<super::forwards::ForwardView>,
}

/// One place a URL was hosted, as the page shows it: `GB, AS64500 (Example Hosting) –
/// 192.0.2.7`; an address no database knows, `unknown – 192.0.2.7`.
fn hosting_text(place: &ward_store::HostingPlace) -> String {
    let mut text = place
        .country
        .clone()
        .unwrap_or_else(|| "unknown".to_owned());
    if let Some(asn) = place.asn {
        text.push_str(&format!(", AS{asn}"));
    }
    if let Some(network) = &place.network {
        text.push_str(&format!(" ({network})"));
    }
    format!("{text} – {}", place.address)
}

/// A preview revealed without the script (`reveal.rs`): the page shows it unblurred and
/// goes back to the blurred page by itself when the reveal ends.
#[derive(Debug)]
pub struct Revealed {
    /// Whole seconds left (at least 1).
    pub seconds: u64,
    /// When it ends, RFC 3339.
    pub until: String,
    /// When it ends, as people read it (`12:44:25 UTC`).
    pub until_time: String,
}

/// An age group as a radio button.
#[derive(Debug)]
struct AgeChoice {
    name: &'static str,
    key: char,
    label: &'static str,
    checked: bool,
}

/// An activity as a radio button, with the labels it gives in each scheme.
#[derive(Debug)]
struct ActivityChoice {
    name: &'static str,
    key: char,
    label: &'static str,
    checked: bool,
    uk: &'static str,
    industry_prepubescent: &'static str,
    industry_pubescent: &'static str,
    industry_unknown: &'static str,
}

impl ActivityChoice {
    fn industry_prepubescent_shown(&self) -> &'static str {
        shown(self.industry_prepubescent)
    }

    fn industry_pubescent_shown(&self) -> &'static str {
        shown(self.industry_pubescent)
    }

    fn industry_unknown_shown(&self) -> &'static str {
        shown(self.industry_unknown)
    }
}

fn shown(label: &'static str) -> &'static str {
    if label.is_empty() { "—" } else { label }
}

#[derive(Template)]
#[template(path = "item.html", config = "src/analyst/askama.toml")]
struct ItemPage {
    header: Option<Header>,
    csrf: String,
    item: ItemView,
    previous: Option<i64>,
    ages: Vec<AgeChoice>,
    activities: Vec<ActivityChoice>,
    current_uk: &'static str,
    current_industry: &'static str,
    banks: Vec<Bank>,
    reveal_seconds: u32,
    revealed: Option<Revealed>,
}

/// `GET /analyst/url/{id}`.
pub async fn page(
    State(state): State<SharedState>,
    analyst: Analyst,
    Path(id): Path<i64>,
    Query(query): Query<ItemQuery>,
) -> Result<Response, PageError> {
    let url = reported_url(&state, UrlId(id)).await?;
    render(&state, &analyst, &url, query.previous, None).await
}

/// The item's page, blurred, or revealed for a while (`reveal.rs`).
pub async fn render(
    state: &SharedState,
    analyst: &Analyst,
    url: &ReportedUrl,
    previous: Option<i64>,
    revealed: Option<Revealed>,
) -> Result<Response, PageError> {
    let banks = banks_for(state, analyst).await?;
    let assessment = url.assessment;
    let ages = AgeGroup::ALL
        .iter()
        .zip('1'..)
        .map(|(&age, key)| AgeChoice {
            name: age.name(),
            key,
            label: age_label(age),
            checked: assessment.is_some_and(|a| a.age_group == age),
        })
        .collect();
    let activities = Activity::ALL
        .iter()
        .zip('4'..)
        .map(|(&activity, key)| {
            let industry = |age_group| {
                Assessment {
                    age_group,
                    activity,
                }
                .industry()
                .map_or("", |c| c.name())
            };
            ActivityChoice {
                name: activity.name(),
                key,
                label: activity_label(activity),
                checked: assessment.is_some_and(|a| a.activity == activity),
                uk: Assessment {
                    age_group: AgeGroup::Unknown,
                    activity,
                }
                .uk()
                .name(),
                industry_prepubescent: industry(AgeGroup::Prepubescent),
                industry_pubescent: industry(AgeGroup::Pubescent),
                industry_unknown: industry(AgeGroup::Unknown),
            }
        })
        .collect();
    let header = Header::of(state, analyst).await?;
    let mut item = item_view(url, Timestamp::now());
    item.forwards = state
        .store
        .url_forwards(url.id)
        .await?
        .iter()
        .map(super::forwards::ForwardView::of)
        .collect();
    let page = ItemPage {
        csrf: header.csrf.clone(),
        header: Some(header),
        item,
        previous,
        ages,
        activities,
        current_uk: assessment.map_or("—", |a| a.uk().name()),
        current_industry: assessment
            .and_then(|a| a.industry())
            .map_or("—", |c| c.name()),
        banks,
        reveal_seconds: REVEAL_SECONDS,
        revealed,
    };
    Ok(Html(page.render()?).into_response())
}

/// `POST /analyst/url/{id}`: records the decision, then shows the next item.
pub async fn decide(
    State(state): State<SharedState>,
    analyst: Result<Analyst, PageError>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let analyst = analyst.map_err(PageError::not_a_page)?;
    let form = FormFields::parse(&body);
    analyst.check_csrf(form.get("csrf"))?;
    let id = UrlId(id);
    let decision = match form.get("decision") {
        Some("abuse") => {
            let age_group = choice::<AgeGroup>(&form, "age_group", "an age group")?;
            let activity = choice::<Activity>(&form, "activity", "an activity")?;
            let bank = match form.get("bank").unwrap_or_default() {
                "" => None,
                text => {
                    let bank = text
                        .parse::<i64>()
                        .map_err(|_| PageError::BadRequest(format!("no bank {text:?}")))?;
                    let banks = banks_for(&state, &analyst).await?;
                    if !banks.iter().any(|b| b.id == BankId(bank)) {
                        return Err(PageError::Forbidden(format!(
                            "bank {bank} is not one of your organisation's standard banks"
                        )));
                    }
                    Some(BankId(bank))
                }
            };
            Decision::Abuse {
                assessment: Assessment {
                    age_group,
                    activity,
                },
                bank,
            }
        }
        Some("not_actionable") => {
            let note = form.get("note").unwrap_or_default().trim();
            if note.is_empty() {
                return Err(PageError::BadRequest(
                    "say why there is nothing to act on".into(),
                ));
            }
            Decision::NotActionable {
                note: note.to_owned(),
            }
        }
        _ => {
            return Err(PageError::BadRequest(
                "choose a decision: abuse, or nothing to act on".into(),
            ));
        }
    };
    let url = reported_url(&state, id).await?;
    if !ASSESSABLE.contains(&url.state) {
        return Err(PageError::Conflict(format!(
            "URL {id} is {}: only fetched content is assessed",
            url.state.name()
        )));
    }
    let decided = state
        .store
        .assess_url(&Actor::user(&analyst.user), id, analyst.user.id, &decision)
        .await?;
    if decided.added_content.is_some() {
        // Matching on this node knows the new content before the analyst moves on.
        state.caught_up().await;
    }
    let next = match next_after(&state, id).await? {
        Some(next) => format!("/analyst/url/{next}?previous={id}"),
        None => "/analyst/queue".to_owned(),
    };
    Ok(Redirect::to(&next).into_response())
}

/// The banks an analyst may add content to: their organisation's enabled standard banks
/// (an admin's: every enabled standard bank).
async fn banks_for(state: &SharedState, analyst: &Analyst) -> Result<Vec<Bank>, PageError> {
    let user = &analyst.user;
    Ok(state
        .store
        .banks()
        .await?
        .into_iter()
        .filter(|bank| bank.kind == BankKind::Standard && bank.enabled)
        .filter(|bank| user.role == Role::Admin || bank.org == user.org)
        .collect())
}

/// The reported URL an item's page shows: every signed-in analyst, curator and admin works
/// the one queue, so the session (the `Analyst` extractor) is what allows it.
pub async fn reported_url(state: &SharedState, id: UrlId) -> Result<ReportedUrl, PageError> {
    state
        .store
        .reported_url(id)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("no reported URL {id}")))
}

/// A radio button's value, parsed.
fn choice<T: std::str::FromStr>(
    form: &FormFields,
    field: &str,
    what: &str,
) -> Result<T, PageError> {
    let text = form.get(field).unwrap_or_default();
    text.parse::<T>()
        .map_err(|_| PageError::BadRequest(format!("choose {what}")))
}

/// Whether the page shows a preview of what the URL served (a sealed copy is kept).
pub fn has_evidence(url: &ReportedUrl) -> bool {
    let media = url.media_type.as_deref().unwrap_or_default();
    ASSESSABLE.contains(&url.state)
        && url.matched.is_none()
        && (media.starts_with("image/") || media.starts_with("video/"))
}

fn item_view(url: &ReportedUrl, now: Timestamp) -> ItemView {
    let (match_state, match_class) = match_state(url);
    let media = url.media_type.clone().unwrap_or_default();
    let decision = match url.state {
        UrlState::Assessed => url.assessment.map(|a| {
            let mut text = format!(
                "abuse: {}, {} (UK {}, industry {})",
                age_label(a.age_group).to_lowercase(),
                activity_label(a.activity).to_lowercase(),
                a.uk().name(),
                a.industry().map_or("—", |c| c.name())
            );
            if let Some(content) = url.added_content {
                text.push_str(&format!("; hashes added as content {content}"));
            }
            text
        }),
        UrlState::NotActionable => Some(format!(
            "nothing to act on: {}",
            url.decision_note.as_deref().unwrap_or_default()
        )),
        _ => None,
    }
    .map(|mut text| {
        if let (Some(by), Some(at)) = (url.assessed_by, url.assessed_at) {
            text.push_str(&format!(" (user {by}, {})", at.to_rfc3339()));
        }
        text
    });
    let assessable = ASSESSABLE.contains(&url.state);
    ItemView {
        id: url.id,
        url: url.url.clone(),
        age: age(url.first_reported_at, now),
        reported_at: url.first_reported_at.to_rfc3339(),
        fetched_at: url.fetched_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        reports: url.reports,
        match_state,
        match_class,
        state: url.state.name(),
        is_video: media.starts_with("video/"),
        // Only novel content is kept (sealed) for analysts, until its retention passes.
        // (A page is queued without a copy: only pictures and videos are kept.)
        has_evidence: has_evidence(url),
        media: if media.is_empty() {
            "—".into()
        } else {
            media
        },
        sha256: url.sha256.clone().unwrap_or_default(),
        hosting: url.hosting.iter().map(hosting_text).collect(),
        assessable,
        decision,
        series: super::queue::SeriesCell::of(url),
        forwards: Vec::new(),
    }
}

fn age_label(age: AgeGroup) -> &'static str {
    match age {
        AgeGroup::Prepubescent => "Prepubescent",
        AgeGroup::Pubescent => "Pubescent",
        AgeGroup::Unknown => "Age unknown",
    }
}

fn activity_label(activity: Activity) -> &'static str {
    match activity {
        Activity::Penetrative => "Penetrative sexual activity",
        Activity::Bestiality => "Sexual activity with an animal",
        Activity::Sadism => "Sadism",
        Activity::NonPenetrative => "Non-penetrative sexual activity",
        Activity::LasciviousExhibition => "Lascivious exhibition",
        Activity::OtherIndecent => "Other indecent image (posing, nudity)",
    }
}
