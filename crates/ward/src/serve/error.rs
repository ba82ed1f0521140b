//! API errors: one JSON shape (`{"error": {"code", "message"}}`) with the right status, from
//! the store's and the core's errors.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use ward_store::StoreError;

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds after which the client may try again (`Retry-After`), for 503s.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid API key is required (Authorization: Bearer ward_...)",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, message = %self.message, "request failed");
        }
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound { .. } => ApiError::not_found(error.to_string()),
            StoreError::Conflict(_) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", error.to_string())
            }
            StoreError::Invalid(_) => ApiError::bad_request(error.to_string()),
            StoreError::Database(_) | StoreError::Migration(_) | StoreError::Damaged { .. } => {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    error.to_string(),
                )
            }
        }
    }
}

impl From<ward_core::Error> for ApiError {
    fn from(error: ward_core::Error) -> ApiError {
        use ward_core::Error as E;
        match error {
            E::TooLarge { .. } | E::TooLong { .. } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                error.to_string(),
            ),
            E::Timeout(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "timeout",
                error.to_string(),
            ),
            E::Decoder(_) => ApiError::internal(error.to_string()),
            // Text the client sent: a hash, a signal type, a category.
            E::InvalidSignal { .. } | E::InvalidOption(_) => {
                ApiError::bad_request(error.to_string())
            }
            _ => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable",
                error.to_string(),
            ),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
