//! Revealing a preview without the script: the item page's form asks for a reveal, the
//! exposure of the whole reveal is counted at once, and the browser is sent to a link that
//! shows the preview unblurred for `REVEAL_SECONDS`. The link carries when it ends, signed
//! with the session's secret and naming the item, so that it works for this session and
//! this item only and never after its end; the revealed page blurs the preview again by
//! itself when the time is up (a CSS animation delayed by the seconds left, `reblur-N` in
//! `analyst.css`: no script, and no timed reload that would change the page under the
//! analyst), then shows the way back to the item.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse as _, Redirect, Response};
use serde::Deserialize;
use ward_store::{Timestamp, UrlId};

use super::error::PageError;
use super::exposure;
use super::item::{self, REVEAL_SECONDS, Revealed};
use super::session::Analyst;
use super::view::FormFields;
use crate::serve::SharedState;

#[derive(Debug, Deserialize)]
pub struct RevealQuery {
    /// When the reveal ends, in milliseconds since the epoch.
    until: Option<i64>,
    /// The session's signature of the item and `until`.
    sig: Option<String>,
}

/// `POST /analyst/url/{id}/reveal`: counts the reveal's seconds as exposure and sends the
/// browser to the revealed page.
pub async fn start(
    State(state): State<SharedState>,
    analyst: Result<Analyst, PageError>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let analyst = analyst.map_err(PageError::not_a_page)?;
    let form = FormFields::parse(&body);
    analyst.check_csrf(form.get("csrf"))?;
    let url = item::reported_url(&state, UrlId(id)).await?;
    if !item::has_evidence(&url) {
        return Err(PageError::NotFound(format!(
            "no preview of URL {id} is kept to reveal"
        )));
    }
    let until = Timestamp::now().0 + i64::from(REVEAL_SECONDS) * 1000;
    // The whole reveal is counted now: reloading the revealed page shows nothing beyond it.
    exposure::count(&state, &analyst, REVEAL_SECONDS).await?;
    let sig = analyst.secret.csrf_token(&purpose(id, until));
    Ok(Redirect::to(&format!("/analyst/url/{id}/reveal?until={until}&sig={sig}")).into_response())
}

/// `GET /analyst/url/{id}/reveal?until=&sig=`: the item's page with its preview revealed
/// until `until`; once it has passed, the blurred page.
pub async fn view(
    State(state): State<SharedState>,
    analyst: Analyst,
    Path(id): Path<i64>,
    Query(query): Query<RevealQuery>,
) -> Result<Response, PageError> {
    let (Some(until), Some(sig)) = (query.until, query.sig.as_deref()) else {
        return Ok(Redirect::to(&format!("/analyst/url/{id}")).into_response());
    };
    if !analyst.secret.check_csrf(&purpose(id, until), sig) {
        return Err(PageError::Forbidden(
            "this reveal link belongs to another session or another item".into(),
        ));
    }
    let Some(left) = remaining(until, Timestamp::now()) else {
        return Ok(Redirect::to(&format!("/analyst/url/{id}")).into_response());
    };
    let url = item::reported_url(&state, UrlId(id)).await?;
    if !item::has_evidence(&url) {
        return Ok(Redirect::to(&format!("/analyst/url/{id}")).into_response());
    }
    let until = Timestamp(until).to_rfc3339();
    let revealed = Revealed {
        seconds: left,
        until_time: format!("{} UTC", &until[11..19]),
        until,
    };
    item::render(&state, &analyst, &url, None, Some(revealed)).await
}

/// What a reveal link's signature covers: the item and the end of the reveal.
pub(super) fn purpose(id: i64, until: i64) -> String {
    format!("reveal\0{id}\0{until}")
}

/// Whole seconds left of a reveal ending at `until` (rounded up, at most the reveal's
/// length), or `None` once it has ended.
fn remaining(until: i64, now: Timestamp) -> Option<u64> {
    let left = until - now.0;
    (left > 0).then(|| (left as u64).div_ceil(1000).min(u64::from(REVEAL_SECONDS)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reveal_lasts_its_seconds_and_no_longer() {
        let check = |until: i64, now: i64, left: Option<u64>| {
            assert_eq!(remaining(until, Timestamp(now)), left, "{until} at {now}");
        };
        check(20_000, 0, Some(20));
        check(20_000, 1, Some(20));
        check(20_000, 19_000, Some(1));
        check(20_000, 19_999, Some(1));
        check(20_000, 20_000, None);
        check(20_000, 60_000, None);
        // A signature never makes a reveal longer than the reveal's length.
        check(3_600_000, 0, Some(20));
    }

    #[test]
    fn a_signature_names_the_item_and_the_end() {
        assert_ne!(purpose(1, 20), purpose(12, 0));
        assert_ne!(purpose(1, 20), purpose(1, 21));
    }
}
