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
            E::NoVideoDecoder => ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "no_video_decoder",
                error.to_string(),
            ),
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

/// The most of a framework's error body that is kept as the message.
const FRAMEWORK_MESSAGE_BYTES: usize = 4096;

/// Gives every error of `/v1` the one JSON shape, including those that the framework
/// answers before a handler runs: a body that is not JSON or not of the route's shape (axum
/// answers these in plain text), a missing route (an empty 404), a method the route does
/// not take (an empty 405), a body over its limit. A response that is already JSON is left
/// as it is; the status and headers (`Allow`, `Retry-After`) are kept.
pub async fn json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let said = axum::body::to_bytes(body, FRAMEWORK_MESSAGE_BYTES)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let message = if said.is_empty() {
        framework_message(status).to_owned()
    } else {
        said
    };
    let error = ApiError::new(status, framework_code(status), message);
    parts.headers.remove(axum::http::header::CONTENT_TYPE);
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let mut answer = error.into_response();
    for (name, value) in &parts.headers {
        answer.headers_mut().entry(name).or_insert(value.clone());
    }
    answer
}

/// The error code of a status that the framework answered.
fn framework_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        status if status.is_server_error() => "internal",
        _ => "bad_request",
    }
}

/// What an empty error of the framework means, in words.
fn framework_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "no such route: see /openapi.json for the routes",
        StatusCode::METHOD_NOT_ALLOWED => "this route does not take that method (see Allow)",
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than this route takes",
        status => status.canonical_reason().unwrap_or("error"),
    }
}
