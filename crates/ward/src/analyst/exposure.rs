//! Exposure: the seconds an analyst had material revealed today (UTC), sent by the page's
//! heartbeat while a preview is revealed (or counted when a reveal without script starts,
//! `reveal.rs`), added up in the store and shown on every page.

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
    let total = count(&state, &analyst, seconds).await?;
    Ok(Json(json!({"seconds": total, "text": duration(total)})))
}

/// Adds `seconds` of revealed material to the analyst's exposure today, wherever it was
/// revealed (the script's heartbeat, a reveal without script); answers today's total.
pub async fn count(state: &SharedState, analyst: &Analyst, seconds: u32) -> Result<u64, PageError> {
    Ok(state
        .store
        .add_exposure(analyst.user.id, &today(), seconds)
        .await?)
}
