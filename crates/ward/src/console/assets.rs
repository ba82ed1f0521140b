//! The console's style sheet (the analyst's pages' with the console's own rules after it)
//! and script, compiled into the binary so that the pages need no inline code.

use axum::http::header;
use axum::response::IntoResponse;

const CSS: &str = concat!(
    include_str!("../analyst/static/analyst.css"),
    include_str!("static/console.css")
);
const JS: &str = include_str!("static/console.js");

pub async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS)
}

pub async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
}
