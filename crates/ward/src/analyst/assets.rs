//! The analyst's pages' style sheet and script: static files compiled into the binary, so
//! that the pages need no inline code and nothing from elsewhere.

use axum::http::header;
use axum::response::IntoResponse;

const CSS: &str = include_str!("static/analyst.css");
const JS: &str = include_str!("static/analyst.js");

pub async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS)
}

pub async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
}
