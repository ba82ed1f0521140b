//! The hotline analyst's pages under `/analyst`: sign in, the queue of novel content, an
//! item with its preview (blurred and in greyscale until revealed; a video as a grid of
//! keyframes before any playback, muted), the assessment (granular facts, each scheme's label
//! derived from them, the hashes added to a bank in the same step) and the exposure time of
//! the day, and series of near-duplicate content (curators name, flag, merge and split
//! them). Server-rendered HTML that works without JavaScript; the script only adds keys,
//! automatic blurring and the exposure heartbeat (without it, a reveal is a link that
//! lasts its seconds and whose page blurs the preview again by itself).
//!
//! Every answer carries a strict Content-Security-Policy and is never cached. Decrypted
//! evidence goes only to a signed-in analyst, curator or admin, and every view of it is in
//! the audit log.

pub mod accounts;
mod assets;
pub(crate) mod error;
mod exposure;
mod forwards;
mod item;
pub(crate) mod login;
mod media;
pub mod passwords;
mod queue;
mod reveal;
mod series;
pub(crate) mod session;
mod statistics;
mod transparency;
pub(crate) mod view;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse as _, Redirect, Response};
use axum::routing::{get, post};

use crate::serve::SharedState;

/// The policy of every analyst's page: nothing but this origin's own files, no inline
/// script or style, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; img-src 'self' blob:; \
    media-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The largest form accepted (the assessment's note is the longest field).
const FORM_LIMIT: usize = 64 << 10;

/// The analyst's routes, with their security headers.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/analyst",
            get(|| async { Redirect::to("/analyst/queue").into_response() }),
        )
        .route("/analyst/login", get(login::form).post(login::sign_in))
        .route("/analyst/logout", post(login::sign_out))
        .route("/analyst/queue", get(queue::page))
        .route("/analyst/url/{id}", get(item::page).post(item::decide))
        .route(
            "/analyst/url/{id}/reveal",
            get(reveal::view).post(reveal::start),
        )
        .route("/analyst/url/{id}/media", get(media::evidence))
        .route("/analyst/url/{id}/keyframes", get(media::keyframes))
        .route("/analyst/exposure", post(exposure::add))
        .route("/analyst/forwards", get(forwards::page))
        .route("/analyst/forwards/{id}/decline", post(forwards::decline))
        .route("/analyst/series", get(series::list))
        .route(
            "/analyst/series/{id}",
            get(series::page).post(series::update),
        )
        .route("/analyst/series/{id}/merge", post(series::merge))
        .route("/analyst/series/{id}/split", post(series::split))
        .route("/analyst/statistics", get(statistics::page))
        .route("/analyst/statistics.csv", get(statistics::csv))
        .route("/analyst/transparency", get(transparency::page))
        .route("/analyst/transparency.csv", get(transparency::csv))
        .route("/analyst/transparency.json", get(transparency::json))
        .route("/analyst/transparency/{year}", get(transparency::year))
        .route("/analyst/static/analyst.css", get(assets::css))
        .route("/analyst/static/analyst.js", get(assets::js))
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        .layer(axum::middleware::map_response(security_headers))
}

/// Adds the security headers to every answer of the analyst's pages, and asks that no
/// search engine index, follow or keep any of them (they are private, and a link to one
/// may leak).
pub(crate) async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    crate::page_headers::insert(headers, CONTENT_SECURITY_POLICY);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex, nofollow, noarchive"),
    );
    response
}

#[cfg(test)]
mod tests;
