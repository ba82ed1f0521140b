//! What the console answers when something is refused or fails: the analyst's pages' error
//! page with the console's links ([`PageError`] rendered for [`Area::Console`]), and the
//! API's refusals as pages with the same status and message, since the console acts through
//! the API's handlers.

use axum::response::{IntoResponse, Response};
use ward_store::StoreError;

use crate::analyst::error::PageError;
use crate::analyst::session::Area;
use crate::serve::error::ApiError;

/// A refusal or a failure of a console page.
#[derive(Debug)]
pub struct ConsoleError(pub PageError);

impl ConsoleError {
    pub fn forbidden(why: impl Into<String>) -> ConsoleError {
        ConsoleError(PageError::Forbidden(why.into()))
    }

    pub fn bad_request(why: impl Into<String>) -> ConsoleError {
        ConsoleError(PageError::BadRequest(why.into()))
    }

    pub fn not_found(what: impl Into<String>) -> ConsoleError {
        ConsoleError(PageError::NotFound(what.into()))
    }

    pub fn internal(error: anyhow::Error) -> ConsoleError {
        ConsoleError(PageError::Internal(error))
    }

    /// The same refusal for what is not a page (a form): 401 instead of a redirect.
    pub fn not_a_page(self) -> ConsoleError {
        ConsoleError(self.0.not_a_page())
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        self.0.into_page(Area::Console)
    }
}

impl From<PageError> for ConsoleError {
    fn from(error: PageError) -> ConsoleError {
        ConsoleError(error)
    }
}

impl From<StoreError> for ConsoleError {
    fn from(error: StoreError) -> ConsoleError {
        ConsoleError(error.into())
    }
}

impl From<askama::Error> for ConsoleError {
    fn from(error: askama::Error) -> ConsoleError {
        ConsoleError(error.into())
    }
}

/// An API handler's refusal, as the page says it: the same status and message.
impl From<ApiError> for ConsoleError {
    fn from(error: ApiError) -> ConsoleError {
        use axum::http::StatusCode;
        ConsoleError(match error.status {
            StatusCode::UNAUTHORIZED => PageError::Unauthorized,
            StatusCode::FORBIDDEN => PageError::Forbidden(error.message),
            StatusCode::NOT_FOUND => PageError::NotFound(error.message),
            StatusCode::CONFLICT => PageError::Conflict(error.message),
            status if status.is_client_error() => PageError::BadRequest(error.message),
            StatusCode::SERVICE_UNAVAILABLE => PageError::Unavailable(error.message),
            _ => PageError::Internal(anyhow::anyhow!("{}: {}", error.code, error.message)),
        })
    }
}
