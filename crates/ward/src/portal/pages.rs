//! The portal's pages: what every page shows (its language and the switch to the others,
//! the quick exit, its place's name) and each page's own content, rendered from the askama
//! templates under `crates/ward/templates/portal/` (HTML-escaped by default; every visible
//! word comes from the language's messages).

use std::sync::LazyLock;

use askama::Template;
use sha2::{Digest as _, Sha256};
use ward_store::{ReportStatus, UrlState};

use super::countries::{Place, Places};
use super::form::{Answers, Field, Problem};
use super::language::Language;

/// Where the quick exit leads: a neutral page nobody would think twice about.
pub const QUICK_EXIT: &str = "https://www.bbc.com/weather";

/// The style sheet and script, built in; their URLs carry a digest of their bytes, so they
/// can be cached for good and a new build is fetched at once.
pub const CSS: &str = include_str!("../../portal/static/portal.css");
pub const JS: &str = include_str!("../../portal/static/portal.js");

pub(super) fn versioned(path: &str, bytes: &str) -> String {
    let digest = Sha256::digest(bytes.as_bytes());
    format!("{path}?v={}", &ward_core::digest::to_hex(&digest)[..12])
}

static CSS_HREF: LazyLock<String> = LazyLock::new(|| versioned("/static/portal.css", CSS));
static JS_HREF: LazyLock<String> = LazyLock::new(|| versioned("/static/portal.js", JS));

/// The style sheet's URL, for pages outside the portal's own (the front page).
pub fn css_href() -> &'static str {
    &CSS_HREF
}

/// What every page shows.
#[derive(Debug)]
pub struct Page<'a> {
    pub language: &'static Language,
    pub place: &'a Place,
    /// The page's own title (the `<title>` adds the country's and the site's names).
    pub title: String,
    /// The country's name in the page's language (`None` on the international page).
    pub country: Option<String>,
    /// Support services for someone upset by what they saw, where the place is.
    pub support: Option<&'a str>,
    /// The `<title>` says "Error:" first, as screen readers read it before anything else.
    pub has_errors: bool,
    /// The place's languages, each a link to this page in it.
    pub languages: Vec<Choice>,
    pub css: &'static str,
    pub js: &'static str,
    /// A page's own script, after the portal's.
    pub page_js: Option<&'static str>,
    pub exit: &'static str,
}

/// A link to the same page in another language.
#[derive(Debug)]
pub struct Choice {
    pub tag: String,
    pub name: String,
    pub href: String,
    pub current: bool,
}

impl<'a> Page<'a> {
    /// A page of `place` in `language`, at `here`: its path and any query it needs besides
    /// the language (`reference=…&`), which the language links keep.
    pub fn new(
        place: &'a Place,
        language: &'static Language,
        title_id: &str,
        here: &str,
    ) -> Page<'a> {
        let separator = if here.contains('?') { "" } else { "?" };
        let languages = place
            .languages()
            .iter()
            .map(|&other| Choice {
                tag: other.tag().to_string(),
                name: other.t("language-name"),
                href: format!("{here}{separator}lang={}", other.tag()),
                current: other == language,
            })
            .collect();
        Page {
            language,
            place,
            title: language.t(title_id),
            country: place
                .code()
                .map(|code| language.t(&format!("country-{code}"))),
            support: place.support(language.tag()),
            has_errors: false,
            languages,
            css: &CSS_HREF,
            js: &JS_HREF,
            page_js: None,
            exit: QUICK_EXIT,
        }
    }

    /// A message in the page's language.
    pub fn t(&self, id: &str) -> String {
        self.language.t(id)
    }

    /// The name in the header: the hotline's, or the service's.
    pub fn site_name(&self) -> String {
        match self.place.hotline() {
            Some(hotline) => hotline.to_string(),
            None => self.t("service-name"),
        }
    }

    /// The `<title>`: the page's title, its country and the site's name, each once (the
    /// form's heading is the service's name).
    pub fn full_title(&self) -> String {
        let mut parts: Vec<String> = Vec::with_capacity(3);
        let candidates = [
            Some(self.title.clone()),
            self.country.clone(),
            Some(self.site_name()),
        ];
        for part in candidates.into_iter().flatten() {
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
        parts.join(" – ")
    }

    pub fn run_by(&self) -> Option<String> {
        self.place.hotline().map(|hotline| {
            self.language
                .t_with("run-by", "hotline", hotline.to_string())
        })
    }

    /// A path of this place's pages, in this language.
    pub fn href(&self, path: &str) -> String {
        format!("{}{path}?lang={}", self.place.base(), self.language.tag())
    }

    pub fn form_href(&self) -> String {
        self.href("")
    }

    pub fn status_href(&self) -> String {
        self.href("/status")
    }

    /// The country's self-report page (`None` on the international page).
    pub fn self_href(&self) -> Option<String> {
        self.place.code().map(|_| self.href("/self"))
    }

    pub fn international_href(&self) -> String {
        format!("/report?lang={}", self.language.tag())
    }
}

/// A problem as the page shows it: the message, linking to its field.
#[derive(Debug)]
pub struct Shown {
    pub anchor: &'static str,
    pub text: String,
}

/// One choice of the content kind.
#[derive(Debug)]
pub struct Radio {
    pub value: &'static str,
    pub label: String,
    pub checked: bool,
}

/// The report form, empty or as it was sent.
#[derive(Debug, Template)]
#[template(path = "portal/form.html")]
pub struct FormPage<'a> {
    pub page: Page<'a>,
    pub answers: &'a Answers,
    pub problems: Vec<Shown>,
    pub urls_errors: Vec<String>,
    pub kind_errors: Vec<String>,
    pub description_errors: Vec<String>,
    pub email_errors: Vec<String>,
    /// Why the form came back although nothing in it was wrong.
    pub notice: Option<String>,
    pub token: &'a str,
    pub action: String,
    pub danger: String,
    pub kinds: Vec<Radio>,
    /// On the international page: each country's page and name.
    pub countries: Vec<(String, String)>,
    /// Where a person stops an image of themselves being shared: their country's
    /// self-report page, or on the international page each country's (`None`: self-reports
    /// are not offered).
    pub self_reports: Option<Vec<(String, String)>>,
}

impl<'a> FormPage<'a> {
    pub fn new(
        place: &'a Place,
        places: &'a Places,
        language: &'static Language,
        answers: &'a Answers,
        problems: &[Problem],
        token: &'a str,
    ) -> FormPage<'a> {
        let mut page = Page::new(place, language, "form-heading", &place.base());
        page.has_errors = !problems.is_empty();
        let text = |problem: &Problem| match problem.line {
            Some(line) => language.t_with(problem.message, "line", line),
            None => language.t(problem.message),
        };
        let of = |field: Field| -> Vec<String> {
            problems
                .iter()
                .filter(|p| p.field == field)
                .map(text)
                .collect()
        };
        let kinds = [
            ("images", "kind-images"),
            ("videos", "kind-videos"),
            ("both", "kind-both"),
            ("unsure", "kind-unsure"),
        ]
        .into_iter()
        .map(|(value, label)| Radio {
            value,
            label: language.t(label),
            checked: answers.kind == value,
        })
        .collect();
        let danger = danger(place, language);
        let countries = if place.code().is_none() {
            let mut countries: Vec<(String, String)> = places
                .countries()
                .filter_map(|country| {
                    let code = country.code()?;
                    Some((
                        format!("/report/{code}"),
                        language.t(&format!("country-{code}")),
                    ))
                })
                .collect();
            countries.sort_by(|a, b| a.1.cmp(&b.1));
            countries
        } else {
            Vec::new()
        };
        FormPage {
            action: page.form_href(),
            problems: problems
                .iter()
                .map(|p| Shown {
                    anchor: p.field.anchor(),
                    text: text(p),
                })
                .collect(),
            urls_errors: of(Field::Urls),
            kind_errors: of(Field::Kind),
            description_errors: of(Field::Description),
            email_errors: of(Field::Email),
            page,
            answers,
            notice: None,
            token,
            danger,
            kinds,
            countries,
            self_reports: None,
        }
    }
}

/// What to do when a child is in danger now: the place's emergency number.
pub fn danger(place: &Place, language: &Language) -> String {
    match place.emergency() {
        Some(number) => language.t_with("danger-call", "number", number.to_string()),
        None => language.t("danger-call-local"),
    }
}

/// After a report was filed: its reference and what happens next.
#[derive(Debug, Template)]
#[template(path = "portal/filed.html")]
pub struct FiledPage<'a> {
    pub page: Page<'a>,
    pub reference: &'a str,
    pub status_href: String,
}

impl<'a> FiledPage<'a> {
    pub fn new(place: &'a Place, language: &'static Language, reference: &'a str) -> FiledPage<'a> {
        let here = format!("{}/filed/{reference}", place.base());
        let page = Page::new(place, language, "filed-title", &here);
        FiledPage {
            status_href: format!(
                "{}/status?reference={reference}&lang={}",
                place.base(),
                language.tag()
            ),
            page,
            reference,
        }
    }
}

/// A report as its reporter sees it.
#[derive(Debug)]
pub struct Found {
    pub reference: String,
    pub sent_on: String,
    /// Each URL (as text, never a link) and where it stands.
    pub urls: Vec<(String, String)>,
}

/// The status form, and a report's status when one was asked for.
#[derive(Debug, Template)]
#[template(path = "portal/status.html")]
pub struct StatusPage<'a> {
    pub page: Page<'a>,
    pub action: String,
    pub typed: &'a str,
    pub problem: Option<String>,
    pub found: Option<Found>,
}

impl<'a> StatusPage<'a> {
    pub fn new(
        place: &'a Place,
        language: &'static Language,
        typed: &'a str,
        problem: Option<&str>,
        status: Option<&ReportStatus>,
    ) -> StatusPage<'a> {
        let base = format!("{}/status", place.base());
        let here = match status {
            Some(status) => format!("{base}?reference={}&", status.reference),
            None => base.clone(),
        };
        let mut page = Page::new(place, language, "status-title", &here);
        page.has_errors = problem.is_some();
        let found = status.map(|status| Found {
            reference: status.reference.clone(),
            sent_on: language.t_with(
                "status-sent-on",
                "date",
                status.created_at.to_rfc3339()[..10].to_string(),
            ),
            urls: status
                .urls
                .iter()
                .map(|(url, state)| (url.clone(), language.t(state_message(*state))))
                .collect(),
        });
        StatusPage {
            page,
            action: base,
            typed,
            problem: problem.map(|id| language.t(id)),
            found,
        }
    }
}

/// The message that tells a reporter where a URL stands.
fn state_message(state: UrlState) -> &'static str {
    match state {
        UrlState::Received => "state-received",
        UrlState::Unreachable => "state-unreachable",
        UrlState::Refused => "state-refused",
        UrlState::Known => "state-known",
        UrlState::Queued => "state-queued",
        UrlState::Assessed => "state-assessed",
        UrlState::NotActionable => "state-not-actionable",
        UrlState::Noticed => "state-noticed",
        UrlState::Removed => "state-removed",
    }
}

/// A page that only says something: not found, no uploads, an error.
#[derive(Debug, Template)]
#[template(path = "portal/message.html")]
pub struct MessagePage<'a> {
    pub page: Page<'a>,
    pub body: String,
    pub link: (String, String),
}

impl<'a> MessagePage<'a> {
    /// `title`, `body` and a link back to the form (`link`'s text), from the messages.
    pub fn new(
        place: &'a Place,
        language: &'static Language,
        title: &str,
        body: &str,
        link: &str,
    ) -> MessagePage<'a> {
        let page = Page::new(place, language, title, &place.base());
        MessagePage {
            body: language.t(body),
            link: (page.form_href(), language.t(link)),
            page,
        }
    }
}
