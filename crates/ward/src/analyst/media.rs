//! What a reported URL served, for the analyst's preview: decrypted with the evidence key
//! only for a signed-in analyst, curator or admin, never cached, every view in the audit
//! log; and for a video, a grid of keyframes drawn by FFmpeg in a child process under time
//! and size limits, shown (blurred) before any playback.

use std::io::Write as _;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use ward_core::video::{self, GridShape};
use ward_store::{Actor, Store as _, UrlId};

use super::error::PageError;
use super::session::Analyst;
use crate::serve::SharedState;

/// The longest FFmpeg may take to draw a keyframe grid.
const KEYFRAMES_TIMEOUT: Duration = Duration::from_secs(60);

/// `GET /analyst/url/{id}/media`: the bytes the URL served, as its media type.
pub async fn evidence(
    State(state): State<SharedState>,
    analyst: Result<Analyst, PageError>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let analyst = analyst.map_err(PageError::not_a_page)?;
    let (media_type, bytes) = decrypted(
        &state,
        &analyst,
        UrlId(id),
        "read.evidence",
        Shown::AsServed,
    )
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, media_type),
            (header::CONTENT_DISPOSITION, "inline".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /analyst/url/{id}/keyframes`: nine frames of a video, evenly spaced, as one PNG.
pub async fn keyframes(
    State(state): State<SharedState>,
    analyst: Result<Analyst, PageError>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let analyst = analyst.map_err(PageError::not_a_page)?;
    let (_, bytes) = decrypted(
        &state,
        &analyst,
        UrlId(id),
        "read.evidence.keyframes",
        Shown::VideoOnly,
    )
    .await?;
    let mut options = state.config.video.clone();
    options.timeout = options.timeout.min(KEYFRAMES_TIMEOUT);
    let grid = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        // FFmpeg seeks in MP4 files: the video goes to a private temporary file (0600),
        // deleted when this returns.
        let mut file = tempfile::NamedTempFile::new()?;
        file.write_all(&bytes)?;
        file.flush()?;
        drop(bytes);
        Ok(video::keyframe_grid(
            file.path(),
            &options,
            &GridShape::default(),
        )?)
    })
    .await
    .map_err(|e| PageError::Internal(e.into()))?
    .map_err(|e| PageError::Unavailable(format!("keyframes of URL {id}: {e:#}")))?;
    Ok(([(header::CONTENT_TYPE, "image/png")], grid).into_response())
}

/// What evidence a route shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shown {
    /// A picture or a video.
    AsServed,
    /// Only a video (its keyframes).
    VideoOnly,
}

/// The evidence of a URL, opened, after its read is logged.
async fn decrypted(
    state: &SharedState,
    analyst: &Analyst,
    id: UrlId,
    action: &str,
    shown: Shown,
) -> Result<(String, Vec<u8>), PageError> {
    let Some(key) = state.config.intake.evidence.clone() else {
        return Err(PageError::Unavailable(
            "this node has no evidence key".into(),
        ));
    };
    let evidence =
        state.store.evidence(id).await?.ok_or_else(|| {
            PageError::NotFound(format!("no copy of what URL {id} served is kept"))
        })?;
    let media_type = evidence.media_type.clone();
    let video = media_type.starts_with("video/");
    let shows = match shown {
        Shown::AsServed => video || media_type.starts_with("image/"),
        Shown::VideoOnly => video,
    };
    if !shows {
        return Err(PageError::NotFound(format!(
            "URL {id} served {media_type}, which is not shown here"
        )));
    }
    // Logged before anything is shown: a view that fails to be logged is not a view.
    state
        .store
        .record_read(&Actor::user(&analyst.user), action, &format!("url:{id}"))
        .await?;
    let bytes =
        tokio::task::spawn_blocking(move || key.open(id, &evidence.nonce, &evidence.ciphertext))
            .await
            .map_err(|e| PageError::Internal(e.into()))?
            .map_err(PageError::Internal)?;
    Ok((media_type, bytes))
}
