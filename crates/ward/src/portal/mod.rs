//! The public reporting portal (`/report`): server-rendered pages where anyone reports the URL
//! of child sexual abuse material, anonymously, in their country's languages, and follows
//! the report by its reference. It works without JavaScript, never takes a file, and never
//! stores or logs a client's address: the address only keys the per-node rate limit.
//!
//! Routes: `GET`/`POST /report` (the international page) and `/report/{country}`, the
//! "what happens next" page after Post/Redirect/Get (`/report[/{country}]/filed/{reference}`),
//! the status lookup (`/report[/{country}]/status?reference=…`), a country's self-report
//! pages (`/report/{country}/self` and `/self/case`, see `self_report`) and the built-in
//! style sheet and scripts under `/static/`; and the service's front door (`front`: `/`, `/favicon.ico`,
//! `/robots.txt`, `/report/` and `/analyst/` sent on). Every response carries a strict
//! Content-Security-Policy and the other security headers; pages are never cached.

mod countries;
mod csrf;
mod form;
mod front;
mod language;
mod pages;
mod self_report;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use anyhow::Context as _;
use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use ward_store::{AnyStore, Store as _, normalise_reference};

use crate::serve::SharedState;
use crate::serve::limiter::{Limiter, Limits};
use countries::{Place, Places};
use csrf::CsrfKey;
use form::Answers;
use language::Language;
use pages::{FiledPage, FormPage, MessagePage, StatusPage};

/// The largest form body: 20 URLs of 2 KiB, 5,000 characters of description and the rest,
/// with room for percent-encoding.
const BODY_LIMIT: usize = 256 << 10;

/// `default-src 'none'` and only this site's own style sheet, images and script: no inline
/// code, no framing, forms posted only here.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the portal keeps while the service runs: its places, the key of its CSRF tokens and
/// the rate limit's buckets.
#[derive(Debug)]
pub struct Portal {
    places: Places,
    csrf: CsrfKey,
    limiter: Limiter,
}

impl Portal {
    /// The portal of the instance whose store is `store`, with the default rate limit.
    pub async fn new(store: &AnyStore) -> anyhow::Result<Portal> {
        Portal::with_limits(store, Limits::default()).await
    }

    pub async fn with_limits(store: &AnyStore, limits: Limits) -> anyhow::Result<Portal> {
        let key = store
            .signing_key()
            .await
            .context("reading the instance's key for the portal's CSRF tokens")?;
        tracing::info!(
            burst = limits.burst,
            per_minute = limits.per_minute,
            "reporting portal: submissions limited per client"
        );
        Ok(Portal {
            places: Places::built_in()?,
            csrf: CsrfKey::derive(&key),
            limiter: Limiter::new(limits),
        })
    }
}

/// The portal's routes, with their body limit and security headers.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/report", get(form).post(file))
        .route("/report/{country}", get(form).post(file))
        .route("/report/status", get(status))
        .route("/report/{country}/status", get(status))
        .route("/report/filed/{reference}", get(filed))
        .route("/report/{country}/filed/{reference}", get(filed))
        .route("/static/portal.css", get(style_sheet))
        .route("/static/portal.js", get(script))
        .route(
            "/report/{country}/self",
            get(self_report::form).post(self_report::open),
        )
        .route(
            "/report/{country}/self/case",
            get(self_report::case_form).post(self_report::case),
        )
        .route("/static/selfreport.js", get(self_report::script))
        .merge(front::routes())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::map_response(security_headers))
}

/// The query every page takes.
#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    /// The language asked for by a language link.
    lang: Option<String>,
    /// A reference to look up (status page only).
    reference: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FiledPath {
    country: Option<String>,
    reference: String,
}

/// `GET /report[/{country}]`: the empty form.
async fn form(
    State(state): State<SharedState>,
    country: Option<Path<String>>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let portal = &state.portal;
    let Some(place) = portal.places.get(country.as_ref().map(|c| c.0.as_str())) else {
        return not_found(portal, &query, &headers);
    };
    let language = language_of(place, &query, &headers);
    let self_reports = match self_report::offered(&state).await {
        Ok(true) => Some(language),
        Ok(false) => None,
        Err(error) => {
            return failed(
                place,
                language,
                &error.context("finding the self-report bank"),
            );
        }
    };
    let answers = Answers::default();
    with_form_token(&state, &headers, place, language, |token| {
        let mut page = FormPage::new(place, &portal.places, language, &answers, &[], token);
        page.self_reports = self_reports.map(|language| {
            page.countries
                .iter()
                .map(|(href, name)| (format!("{href}/self?lang={}", language.tag()), name.clone()))
                .collect()
        });
        render(StatusCode::OK, &page)
    })
}

/// `POST /report[/{country}]`: files a report and sends the browser to its reference, or
/// shows the form again, as it was sent, with what to fix.
async fn file(
    State(state): State<SharedState>,
    country: Option<Path<String>>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Body,
) -> Response {
    let portal = &state.portal;
    let Some(place) = portal.places.get(country.as_ref().map(|c| c.0.as_str())) else {
        return not_found(portal, &query, &headers);
    };
    let language = language_of(place, &query, &headers);
    let busy = portal.limiter.take(client_of(peer), Instant::now()).err();
    if !is_form(&headers) {
        // A file, or anything else: never read.
        let page = MessagePage::new(
            place,
            language,
            "upload-title",
            "upload-body",
            "back-to-form",
        );
        return render(StatusCode::UNSUPPORTED_MEDIA_TYPE, &page);
    }
    let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(body) => body,
        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
    };
    let answers = Answers::from_body(&body);
    let now = csrf::now();
    let cookie = csrf::from_cookies(cookies(&headers));
    let again = |status: StatusCode, notice: &str| {
        with_form_token(&state, &headers, place, language, |token| {
            let mut page = FormPage::new(place, &portal.places, language, &answers, &[], token);
            page.notice = Some(language.t(notice));
            render(status, &page)
        })
    };
    if let Some(wait) = busy {
        return retry_after(again(StatusCode::TOO_MANY_REQUESTS, "notice-busy"), wait);
    }
    if portal.csrf.check_pair(cookie, &answers.token, now).is_err() {
        return again(StatusCode::FORBIDDEN, "notice-csrf");
    }
    let report = match answers.report(place.code(), language.tag()) {
        Ok(report) => report,
        Err(problems) => {
            let page = FormPage::new(
                place,
                &portal.places,
                language,
                &answers,
                &problems,
                &answers.token,
            );
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    match state.store.file_report(&report).await {
        Ok(filed) => {
            let location = format!(
                "{}/filed/{}?lang={}",
                place.base(),
                filed.reference,
                language.tag()
            );
            (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
        }
        Err(error) => failed(
            place,
            language,
            &anyhow::Error::new(error).context("filing a report"),
        ),
    }
}

/// `GET /report[/{country}]/filed/{reference}`: the reference and what happens next.
async fn filed(
    State(state): State<SharedState>,
    Path(path): Path<FiledPath>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let portal = &state.portal;
    let Some(place) = portal.places.get(path.country.as_deref()) else {
        return not_found(portal, &query, &headers);
    };
    let language = language_of(place, &query, &headers);
    let Some(reference) = normalise_reference(&path.reference) else {
        return not_found(portal, &query, &headers);
    };
    match state.store.report_status(&reference).await {
        Ok(Some(_)) => render(StatusCode::OK, &FiledPage::new(place, language, &reference)),
        Ok(None) => not_found(portal, &query, &headers),
        Err(error) => failed(
            place,
            language,
            &anyhow::Error::new(error).context("reading a report's status"),
        ),
    }
}

/// `GET /report[/{country}]/status[?reference=…]`: the lookup form, and the report's status.
async fn status(
    State(state): State<SharedState>,
    country: Option<Path<String>>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let portal = &state.portal;
    let Some(place) = portal.places.get(country.as_ref().map(|c| c.0.as_str())) else {
        return not_found(portal, &query, &headers);
    };
    let language = language_of(place, &query, &headers);
    let Some(typed) = query.reference.as_deref() else {
        return render(
            StatusCode::OK,
            &StatusPage::new(place, language, "", None, None),
        );
    };
    let problem = |status, id| {
        render(
            status,
            &StatusPage::new(place, language, typed, Some(id), None),
        )
    };
    if typed.trim().is_empty() {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "error-reference-missing");
    }
    let Some(reference) = normalise_reference(typed) else {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "error-reference-invalid");
    };
    match state.store.report_status(&reference).await {
        Ok(Some(status)) => render(
            StatusCode::OK,
            &StatusPage::new(place, language, "", None, Some(&status)),
        ),
        Ok(None) => problem(StatusCode::NOT_FOUND, "error-reference-unknown"),
        Err(error) => failed(
            place,
            language,
            &anyhow::Error::new(error).context("reading a report's status"),
        ),
    }
}

async fn style_sheet() -> Response {
    built_in("text/css; charset=utf-8", pages::CSS)
}

async fn script() -> Response {
    built_in("text/javascript; charset=utf-8", pages::JS)
}

/// A built-in file: its URL names its version, so it is cached for a year.
fn built_in(content_type: &'static str, text: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        text,
    )
        .into_response()
}

/// The language of a page of `place`.
fn language_of(place: &Place, query: &PageQuery, headers: &HeaderMap) -> &'static Language {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok());
    language::choose(place.languages(), query.lang.as_deref(), accept)
}

fn cookies(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
}

/// The CSRF token for a form: the browser's, while it holds; else a new one (`true`: it must
/// be set in the cookie).
fn token_for(portal: &Portal, headers: &HeaderMap) -> anyhow::Result<(String, bool)> {
    let now = csrf::now();
    match csrf::from_cookies(cookies(headers)).filter(|token| portal.csrf.check(token, now).is_ok())
    {
        Some(token) => Ok((token.to_string(), false)),
        None => Ok((portal.csrf.issue(now)?, true)),
    }
}

/// A form page with the CSRF token the browser holds, or a new one set in its cookie when
/// it holds none that is valid: `page` renders the page with the token.
fn with_form_token(
    state: &SharedState,
    headers: &HeaderMap,
    place: &Place,
    language: &'static Language,
    page: impl FnOnce(&str) -> Response,
) -> Response {
    match token_for(&state.portal, headers) {
        Ok((token, new_token)) => with_token(
            page(&token),
            new_token.then_some(&token),
            state.config.secure_cookies,
        ),
        Err(error) => failed(place, language, &error),
    }
}

/// The client's address, only to key the rate limit (never kept). Without it (a server
/// started without connection info), every client shares one bucket: the limit still
/// holds, for all together.
fn client_of(peer: Option<Extension<ConnectInfo<SocketAddr>>>) -> IpAddr {
    peer.map_or(
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        |Extension(ConnectInfo(peer))| peer.ip(),
    )
}

/// `response` (the form again, saying the client sends too often) as a 429 that says to
/// retry after `wait`, in whole seconds (at least 1).
fn retry_after(mut response: Response, wait: std::time::Duration) -> Response {
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// `response` with the CSRF cookie set to `token`, if there is one (`secure`: the deployment
/// is reached over HTTPS).
fn with_token(mut response: Response, token: Option<&String>, secure: bool) -> Response {
    if let Some(token) = token
        && let Ok(value) = HeaderValue::from_str(&csrf::set_cookie(token, secure))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Whether the body is a form's (`application/x-www-form-urlencoded`), the only kind taken.
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::VARY, "Accept-Language, Cookie"),
            ],
            html,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "rendering a portal page failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The page for a path that names no country, report or page: on the international page's
/// terms.
fn not_found(portal: &Portal, query: &PageQuery, headers: &HeaderMap) -> Response {
    let Some(place) = portal.places.get(None) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let language = language_of(place, query, headers);
    let page = MessagePage::new(
        place,
        language,
        "not-found-title",
        "not-found-body",
        "not-found-link",
    );
    render(StatusCode::NOT_FOUND, &page)
}

/// The service failed (the store, the random source): logged, and a page saying the report
/// was not sent. Nothing about the client is logged.
fn failed(place: &Place, language: &'static Language, error: &anyhow::Error) -> Response {
    tracing::error!(error = format!("{error:#}"), "a portal request failed");
    let page = MessagePage::new(place, language, "error-title", "error-body", "back-to-form");
    render(StatusCode::INTERNAL_SERVER_ERROR, &page)
}

/// Adds the security headers to every portal response; pages are never stored by caches
/// (built-in files say otherwise).
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    crate::page_headers::insert(headers, CONTENT_SECURITY_POLICY);
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod self_report_tests;
#[cfg(test)]
mod tests;
