//! Self-reports on the portal (`/report/{country}/self`): a young person whose nude or
//! sexual image is shared, or may be, hashes it in their own browser and sends only the
//! hashes, which land in the hotline's self-report bank for platforms to match; a case
//! number and a code let them add files later or withdraw the case (`/self/case`).
//!
//! The pages' script (`/static/selfreport.js`, built from the files under `static/`) hashes
//! the files on the device: MD5 for every file, PDQ for pictures, with the page's own
//! decoders where Chromium's differ from Ward's. Without JavaScript the page offers no
//! chooser and says why. Forms are posted as the report form is (CSRF, the per-client rate
//! limit, `application/x-www-form-urlencoded` only, nothing about the client kept) and carry
//! one line per file: `md5:<hex>` and, for a picture, ` pdq:<hex>`. The server keeps the
//! hashes and the country, nothing else: no file name, no preview, no address.

use std::net::{IpAddr, SocketAddr};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use askama::Template;
use axum::body::Body;
use axum::extract::{ConnectInfo, Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::response::{IntoResponse as _, Response};
use ward_core::digest::Md5;
use ward_core::pdq::PdqHash;
use ward_store::{
    BankId, BankKind, NewSelfReport, SELF_REPORT_SEND_MAX, SelfReportFile, Store as _, StoreError,
};

use super::countries::Place;
use super::language::Language;
use super::pages::{MessagePage, Page};
use super::{
    BODY_LIMIT, PageQuery, Portal, client_of, cookies, csrf, failed, is_form, language_of,
    not_found, render, retry_after, with_form_token,
};
use crate::serve::SharedState;

/// The pages' script: the hashing (MD5, PNG and GIF decoders, PDQ, the file reader) and the
/// form's glue, in one file.
pub const JS: &str = concat!(
    include_str!("static/md5.js"),
    include_str!("static/png.js"),
    include_str!("static/gif.js"),
    include_str!("static/pdq.js"),
    include_str!("static/selfhash.js"),
    include_str!("static/selfreport.js"),
);

static JS_HREF: LazyLock<String> =
    LazyLock::new(|| super::pages::versioned("/static/selfreport.js", JS));

/// The form's fields, as sent.
#[derive(Debug, Default)]
struct Sent {
    token: String,
    hashes: String,
    case: String,
    code: String,
    action: String,
}

impl Sent {
    fn from_body(body: &[u8]) -> Sent {
        let mut sent = Sent::default();
        for (name, value) in form_urlencoded::parse(body) {
            let field = match &*name {
                "csrf" => &mut sent.token,
                "hashes" => &mut sent.hashes,
                "case" => &mut sent.case,
                "code" => &mut sent.code,
                "action" => &mut sent.action,
                _ => continue,
            };
            *field = value.into_owned();
        }
        sent
    }
}

/// Reads the hashes a form carries: one line per file, `md5:<hex>` and optionally
/// ` pdq:<hex>`, at most [`SELF_REPORT_SEND_MAX`] lines. The error is the message to show.
fn read_hashes(text: &str) -> Result<Vec<SelfReportFile>, &'static str> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return Err("error-hashes-missing");
    }
    if lines.len() > SELF_REPORT_SEND_MAX {
        return Err("error-hashes-too-many");
    }
    lines
        .into_iter()
        .map(|line| {
            let mut md5 = None;
            let mut pdq = None;
            for part in line.split_ascii_whitespace() {
                match part.split_once(':') {
                    Some(("md5", hex)) if md5.is_none() => {
                        md5 = Some(hex.parse::<Md5>().map_err(|_| "error-hashes-invalid")?);
                    }
                    Some(("pdq", hex)) if pdq.is_none() => {
                        pdq = Some(hex.parse::<PdqHash>().map_err(|_| "error-hashes-invalid")?);
                    }
                    _ => return Err("error-hashes-invalid"),
                }
            }
            Ok(SelfReportFile {
                md5: md5.ok_or("error-hashes-invalid")?.to_string(),
                pdq: pdq.map(|pdq| pdq.to_string()),
            })
        })
        .collect()
}

/// What the script says while it hashes, in the page's language (the form's `data-`
/// attributes; `{count}` stands for a number), and the most files it sends at once.
#[derive(Debug)]
struct Hashing {
    ready: String,
    unreadable: String,
    working: String,
    too_many: String,
    max: usize,
}

impl Hashing {
    fn new(language: &Language) -> Hashing {
        Hashing {
            ready: language.t_with("self-ready", "count", "{count}"),
            unreadable: language.t_with("self-unreadable", "count", "{count}"),
            working: language.t("self-working"),
            too_many: language.t("error-hashes-too-many"),
            max: SELF_REPORT_SEND_MAX,
        }
    }
}

/// The self-report form of a country.
#[derive(Debug, Template)]
#[template(path = "portal/self.html")]
struct SelfPage<'a> {
    page: Page<'a>,
    action: String,
    case_href: String,
    token: &'a str,
    danger: String,
    problem: Option<String>,
    hashing: Hashing,
}

/// A page of `place` at `path` (after the place's base) that runs the hashing script.
fn hashing_page<'a>(
    place: &'a Place,
    language: &'static Language,
    title: &str,
    path: &str,
) -> Page<'a> {
    let mut page = Page::new(place, language, title, &format!("{}{path}", place.base()));
    page.page_js = Some(JS_HREF.as_str());
    page
}

impl<'a> SelfPage<'a> {
    fn new(place: &'a Place, language: &'static Language, token: &'a str) -> SelfPage<'a> {
        let page = hashing_page(place, language, "self-title", "/self");
        SelfPage {
            action: page.href("/self"),
            case_href: page.href("/self/case"),
            token,
            danger: super::pages::danger(place, language),
            problem: None,
            hashing: Hashing::new(language),
            page,
        }
    }
}

/// A case just opened: its number, its code and what happens next.
#[derive(Debug, Template)]
#[template(path = "portal/self_opened.html")]
struct OpenedPage<'a> {
    page: Page<'a>,
    number: String,
    code: String,
    received: String,
    case_href: String,
}

/// The case form: add files, or withdraw; and what the last sending did.
#[derive(Debug, Template)]
#[template(path = "portal/self_case.html")]
struct CasePage<'a> {
    page: Page<'a>,
    action: String,
    token: &'a str,
    number: String,
    code: String,
    problem: Option<String>,
    /// What was done (added, withdrawn).
    done: Option<String>,
    hashing: Hashing,
}

impl<'a> CasePage<'a> {
    fn new(place: &'a Place, language: &'static Language, token: &'a str) -> CasePage<'a> {
        let page = hashing_page(place, language, "self-case-title", "/self/case");
        CasePage {
            action: page.href("/self/case"),
            token,
            number: String::new(),
            code: String::new(),
            problem: None,
            done: None,
            hashing: Hashing::new(language),
            page,
        }
    }
}

/// The country's place and language (`None`: not a country of the portal's; self-reports
/// are per country, and the case keeps its country).
fn place_of<'p>(
    portal: &'p Portal,
    country: &str,
    query: &PageQuery,
    headers: &HeaderMap,
) -> Option<(&'p Place, &'static Language)> {
    let place = portal.places.get(Some(country))?;
    place.code()?;
    Some((place, language_of(place, query, headers)))
}

/// The bank self-reports land in: the deployment's first live, enabled self-report bank.
async fn self_report_bank(state: &SharedState) -> anyhow::Result<Option<BankId>> {
    let banks = state.store.banks().await?;
    Ok(banks
        .iter()
        .filter(|bank| bank.kind == BankKind::SelfReport && bank.enabled)
        .map(|bank| bank.id)
        .min())
}

/// Whether the portal offers self-reports: a self-report bank is there to take them.
pub async fn offered(state: &SharedState) -> anyhow::Result<bool> {
    Ok(self_report_bank(state).await?.is_some())
}

fn unavailable(place: &Place, language: &'static Language) -> Response {
    let page = MessagePage::new(
        place,
        language,
        "self-unavailable-title",
        "self-unavailable-body",
        "back-to-form",
    );
    render(StatusCode::SERVICE_UNAVAILABLE, &page)
}

/// `GET /report/{country}/self`.
pub async fn form(
    State(state): State<SharedState>,
    Path(country): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let portal = &state.portal;
    let Some((place, language)) = place_of(portal, &country, &query, &headers) else {
        return not_found(portal, &query, &headers);
    };
    match self_report_bank(&state).await {
        Ok(Some(_)) => {}
        Ok(None) => return unavailable(place, language),
        Err(error) => {
            return failed(
                place,
                language,
                &error.context("finding the self-report bank"),
            );
        }
    }
    with_form_token(&state, &headers, place, language, |token| {
        render(StatusCode::OK, &SelfPage::new(place, language, token))
    })
}

/// What a POST must pass before its fields are read: the rate limit, the media type, the
/// body's size and the CSRF pair. `Err` is the answer already made by `again` or a bare
/// status.
async fn admit(
    portal: &Portal,
    headers: &HeaderMap,
    client: IpAddr,
    body: Body,
) -> Result<Sent, Refused> {
    if let Err(wait) = portal.limiter.take(client, Instant::now()) {
        return Err(Refused::Busy(wait));
    }
    if !is_form(headers) {
        return Err(Refused::Status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let body = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| Refused::Status(StatusCode::PAYLOAD_TOO_LARGE))?;
    let sent = Sent::from_body(&body);
    let cookie = csrf::from_cookies(cookies(headers));
    if portal
        .csrf
        .check_pair(cookie, &sent.token, csrf::now())
        .is_err()
    {
        return Err(Refused::Csrf);
    }
    Ok(sent)
}

/// Why a POST was not read.
enum Refused {
    /// Over the rate limit: retry after this long.
    Busy(Duration),
    Csrf,
    Status(StatusCode),
}

impl Refused {
    /// The answer: the page again with a notice (`page` renders it with a problem), or a
    /// bare status.
    fn answer(self, page: impl FnOnce(StatusCode, &'static str) -> Response) -> Response {
        match self {
            Refused::Busy(wait) => {
                retry_after(page(StatusCode::TOO_MANY_REQUESTS, "notice-busy"), wait)
            }
            Refused::Csrf => page(StatusCode::FORBIDDEN, "notice-csrf"),
            Refused::Status(status) => status.into_response(),
        }
    }
}

/// `POST /report/{country}/self`: opens a case with the hashes sent.
pub async fn open(
    State(state): State<SharedState>,
    Path(country): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Body,
) -> Response {
    let portal = &state.portal;
    let Some((place, language)) = place_of(portal, &country, &query, &headers) else {
        return not_found(portal, &query, &headers);
    };
    let again = |status: StatusCode, problem: &str| {
        with_form_token(&state, &headers, place, language, |token| {
            let mut page = SelfPage::new(place, language, token);
            page.page.has_errors = true;
            page.problem = Some(language.t(problem));
            render(status, &page)
        })
    };
    let sent = match admit(portal, &headers, client_of(peer), body).await {
        Ok(sent) => sent,
        Err(refused) => return refused.answer(again),
    };
    let files = match read_hashes(&sent.hashes) {
        Ok(files) => files,
        Err(problem) => return again(StatusCode::UNPROCESSABLE_ENTITY, problem),
    };
    let bank = match self_report_bank(&state).await {
        Ok(Some(bank)) => bank,
        Ok(None) => return unavailable(place, language),
        Err(error) => {
            return failed(
                place,
                language,
                &error.context("finding the self-report bank"),
            );
        }
    };
    let Some(code) = place.code() else {
        return not_found(portal, &query, &headers);
    };
    let report = NewSelfReport {
        bank,
        country: code.to_owned(),
        files,
    };
    match state.store.open_self_report(&report).await {
        Ok(opened) => {
            let page = Page::new(
                place,
                language,
                "self-opened-title",
                &format!("{}/self", place.base()),
            );
            let case_href = page.href("/self/case");
            let page = OpenedPage {
                received: language.t_with("self-received", "count", opened.case.files),
                number: opened.case.number,
                code: opened.code,
                case_href,
                page,
            };
            render(StatusCode::OK, &page)
        }
        Err(error) => failed(
            place,
            language,
            &anyhow::Error::new(error).context("opening a self-report case"),
        ),
    }
}

/// `GET /report/{country}/self/case`.
pub async fn case_form(
    State(state): State<SharedState>,
    Path(country): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let portal = &state.portal;
    let Some((place, language)) = place_of(portal, &country, &query, &headers) else {
        return not_found(portal, &query, &headers);
    };
    with_form_token(&state, &headers, place, language, |token| {
        render(StatusCode::OK, &CasePage::new(place, language, token))
    })
}

/// `POST /report/{country}/self/case`: adds the hashes sent to the case (`action=add`) or
/// withdraws it (`action=withdraw`).
pub async fn case(
    State(state): State<SharedState>,
    Path(country): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Body,
) -> Response {
    let portal = &state.portal;
    let Some((place, language)) = place_of(portal, &country, &query, &headers) else {
        return not_found(portal, &query, &headers);
    };
    // The page again, with the case number and code as typed (never the hashes).
    let again = |status: StatusCode, problem: Option<&str>, done: Option<String>, sent: &Sent| {
        with_form_token(&state, &headers, place, language, |token| {
            let mut page = CasePage::new(place, language, token);
            page.page.has_errors = problem.is_some();
            page.problem = problem.map(|id| language.t(id));
            page.done = done;
            page.number = sent.case.chars().take(40).collect();
            page.code = sent.code.chars().take(40).collect();
            render(status, &page)
        })
    };
    let sent = match admit(portal, &headers, client_of(peer), body).await {
        Ok(sent) => sent,
        Err(refused) => {
            return refused
                .answer(|status, notice| again(status, Some(notice), None, &Sent::default()));
        }
    };
    if sent.case.trim().is_empty() || sent.code.trim().is_empty() {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("error-case-missing"),
            None,
            &sent,
        );
    }
    let result = match sent.action.as_str() {
        "withdraw" => state
            .store
            .withdraw_self_report(&sent.case, &sent.code)
            .await
            .map(|_| language.t("self-withdrawn")),
        "add" => {
            let files = match read_hashes(&sent.hashes) {
                Ok(files) => files,
                Err(problem) => {
                    return again(StatusCode::UNPROCESSABLE_ENTITY, Some(problem), None, &sent);
                }
            };
            let count = files.len();
            state
                .store
                .add_to_self_report(&sent.case, &sent.code, &files)
                .await
                .map(|case| {
                    language.t_with_all(
                        "self-added",
                        [("count", count.into()), ("total", case.files.into())],
                    )
                })
        }
        _ => return StatusCode::UNPROCESSABLE_ENTITY.into_response(),
    };
    match result {
        Ok(done) => again(StatusCode::OK, None, Some(done), &sent),
        Err(StoreError::NotFound { .. }) => again(
            StatusCode::NOT_FOUND,
            Some("error-case-unknown"),
            None,
            &sent,
        ),
        Err(StoreError::Conflict(_)) => again(
            StatusCode::CONFLICT,
            Some("error-case-withdrawn"),
            None,
            &sent,
        ),
        Err(StoreError::Invalid(_)) => again(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("error-hashes-too-many"),
            None,
            &sent,
        ),
        Err(error) => failed(
            place,
            language,
            &anyhow::Error::new(error).context("changing a self-report case"),
        ),
    }
}

/// `GET /static/selfreport.js`.
pub async fn script() -> Response {
    super::built_in("text/javascript; charset=utf-8", JS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_read_one_file_a_line() {
        let md5 = "0123456789abcdef0123456789abcdef";
        let pdq = "f".repeat(64);
        let ok = |text: &str, files: usize| {
            let read = read_hashes(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(read.len(), files, "{text:?}");
            read
        };
        let read = ok(
            &format!("md5:{md5} pdq:{pdq}\r\nmd5:{}\n\n", md5.to_uppercase()),
            2,
        );
        assert_eq!(read[0].pdq.as_deref(), Some(pdq.as_str()));
        assert_eq!(read[1].md5, md5, "canonical lower case");
        assert_eq!(read[1].pdq, None);
        let fifty = vec![format!("md5:{md5}"); SELF_REPORT_SEND_MAX].join("\n");
        ok(&fifty, SELF_REPORT_SEND_MAX);
        let cases = [
            ("", "error-hashes-missing"),
            ("  \n ", "error-hashes-missing"),
            (&format!("{fifty}\nmd5:{md5}"), "error-hashes-too-many"),
            (&format!("pdq:{pdq}"), "error-hashes-invalid"),
            (&format!("md5:{md5} md5:{md5}"), "error-hashes-invalid"),
            (&format!("md5:{}", &md5[1..]), "error-hashes-invalid"),
            (
                &format!("md5:{md5} pdq:{}", &pdq[2..]),
                "error-hashes-invalid",
            ),
            (
                &format!("md5:{md5} name:holiday.jpg"),
                "error-hashes-invalid",
            ),
            ("md5", "error-hashes-invalid"),
        ];
        for (text, expected) in cases {
            assert_eq!(read_hashes(text).err(), Some(expected), "{text:?}");
        }
    }
}
