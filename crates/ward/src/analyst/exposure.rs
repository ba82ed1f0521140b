//! Exposure: the seconds an analyst had material revealed today (UTC), sent by the page's
//! heartbeat while a preview is revealed, added up in the store and shown on every page.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Value, json};
use ward_store::Store as _;

use super::error::PageError;
use super::session::{Analyst, today};
use super::view::{FormFields, duration};
use crate::serve::SharedState;

/// The most seconds one heartbeat adds (the page sends one every few seconds).
pub const MAX_HEARTBEAT_SECONDS: u32 = 60;

/// `POST /analyst/exposure` with `seconds` (1 to 60): answers today's total.
pub async fn add(
    State(state): State<SharedState>,
    analyst: Result<Analyst, PageError>,
    body: Bytes,
) -> Result<Json<Value>, PageError> {
    let analyst = analyst.map_err(PageError::not_a_page)?;
    let form = FormFields::parse(&body);
    analyst.check_csrf(form.get("csrf"))?;
    let seconds = form
        .get("seconds")
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|s| (1..=MAX_HEARTBEAT_SECONDS).contains(s))
        .ok_or_else(|| {
            PageError::BadRequest(format!(
                "seconds must be a whole number from 1 to {MAX_HEARTBEAT_SECONDS}"
            ))
        })?;
    let total = state
        .store
        .add_exposure(analyst.user.id, &today(), seconds)
        .await?;
    Ok(Json(json!({"seconds": total, "text": duration(total)})))
}
