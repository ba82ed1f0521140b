//! What the analyst's pages answer when something is refused or fails: a short HTML page
//! with the right status (a page that needs a session sends the browser to sign in), generic
//! for server errors, whose details go to the log.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use ward_store::StoreError;

use super::session::Area;

/// A refusal or a failure of an analyst's page.
#[derive(Debug)]
pub enum PageError {
    /// No current session: a page sends the browser to sign in to its area.
    NotSignedIn(Area),
    /// No current session, for what is not a page (media, the exposure heartbeat, a form):
    /// 401.
    Unauthorized,
    /// Signed in, but the role may not do this.
    Forbidden(String),
    /// A form without this session's CSRF token.
    Csrf,
    NotFound(String),
    BadRequest(String),
    Conflict(String),
    /// The store or a needed part (the evidence key, FFmpeg) is not available.
    Unavailable(String),
    Internal(anyhow::Error),
}

impl PageError {
    /// The same refusal for a request that is not a page: 401 instead of a redirect.
    pub fn not_a_page(self) -> PageError {
        match self {
            PageError::NotSignedIn(_) => PageError::Unauthorized,
            other => other,
        }
    }
}

#[derive(Template)]
#[template(path = "error.html", config = "src/analyst/askama.toml")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
    area: Area,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.into_page(Area::Analyst)
    }
}

impl PageError {
    /// The page that says it, with the links of `area`.
    pub fn into_page(self, area: Area) -> Response {
        let (status, title, message) = match &self {
            PageError::NotSignedIn(area) => return Redirect::to(area.login()).into_response(),
            PageError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "Not signed in",
                "Sign in to the analyst's pages first.".to_owned(),
            ),
            PageError::Forbidden(why) => (StatusCode::FORBIDDEN, "Not allowed", capital(why)),
            PageError::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "The form was not sent from this session's pages. Go back, reload the page and \
                 try again."
                    .to_owned(),
            ),
            PageError::NotFound(what) => (StatusCode::NOT_FOUND, "Not found", capital(what)),
            PageError::BadRequest(why) => (StatusCode::BAD_REQUEST, "Not accepted", capital(why)),
            PageError::Conflict(why) => (StatusCode::CONFLICT, "Not possible now", capital(why)),
            PageError::Unavailable(why) => {
                tracing::warn!(error = %why, "an analyst's page is unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Unavailable",
                    "This is not available now; try again in a moment.".to_owned(),
                )
            }
            PageError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "an analyst's page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The page could not be made; the error is in the service's log.".to_owned(),
                )
            }
        };
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            message: &message,
            area,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, [(header::CONTENT_TYPE, "text/plain")], message).into_response(),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> PageError {
        match error {
            StoreError::NotFound { .. } => PageError::NotFound(error.to_string()),
            StoreError::Conflict(why) => PageError::Conflict(why),
            StoreError::Invalid(why) => PageError::BadRequest(why),
            StoreError::Database(_) | StoreError::Migration(_) | StoreError::Damaged { .. } => {
                PageError::Unavailable(error.to_string())
            }
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(error: askama::Error) -> PageError {
        PageError::Internal(anyhow::Error::new(error).context("rendering a page"))
    }
}

/// A message as a sentence: its first letter upper case, a full stop at the end.
fn capital(text: &str) -> String {
    let mut chars = text.chars();
    let mut sentence: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !sentence.ends_with('.') {
        sentence.push('.');
    }
    sentence
}
