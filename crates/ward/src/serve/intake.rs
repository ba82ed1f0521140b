//! Intake: every reported URL is fetched by the safe fetcher ([`crate::fetch`]), what it
//! serves is hashed (images with PDQ, videos with vPDQ, both with MD5, SHA-1 and SHA-256)
//! and matched against the banks. Known content takes the bank's assessment and never
//! reaches an analyst; novel content is queued, its bytes sealed ([`super::evidence`]) and
//! kept until the retention passes. A page (what is not a picture or a video) is queued
//! too, without hashes or a copy, for an analyst to decide from its URL. A failed fetch is retried later with a growing wait; a
//! URL the guard refuses is never fetched.
//!
//! Nodes share the work through the store: each claims a few URLs for a lease, so two nodes
//! never fetch the same URL at once, and a stopped node's claims lapse to the others.

use std::sync::{Arc, Weak};
use std::time::Duration;

use ward_core::decode::ImageFormat;
use ward_core::pdq::Quality;
use ward_core::video;
use ward_store::{Actor, BankKind, Evidence, FetchOutcome, ReportedUrl, Store, Timestamp};

use super::budget::{Patience, Reservation};
use super::evidence::EvidenceKey;
use super::matching::{self, MediaKind};
use super::{AppState, SharedState};
use crate::fetch::{FetchConfig, Fetcher};
use crate::hosting::HostingDatabases;

/// How intake runs.
#[derive(Clone, Debug)]
pub struct IntakeConfig {
    /// How often a node looks for reported URLs to fetch; `None`: never (a node that only
    /// serves matching).
    pub interval: Option<Duration>,
    /// URLs a node fetches at once.
    pub batch: u32,
    /// How long a claim holds before another node may take the URL.
    pub lease: Duration,
    /// How long sealed evidence is kept.
    pub retention: Duration,
    pub fetch: FetchConfig,
    /// The key evidence is sealed with; without one, nothing a URL served is kept.
    pub evidence: Option<Arc<EvidenceKey>>,
    /// The IP-to-country databases where a URL's addresses are looked up (`--geoip-db`).
    pub hosting: Arc<HostingDatabases>,
}

impl Default for IntakeConfig {
    fn default() -> IntakeConfig {
        IntakeConfig {
            interval: Some(Duration::from_secs(5)),
            batch: 4,
            lease: Duration::from_secs(600),
            retention: Duration::from_secs(30 * 86_400),
            fetch: FetchConfig::default(),
            evidence: None,
            hosting: Arc::new(HostingDatabases::default()),
        }
    }
}

/// The first wait before a failed fetch is tried again; it doubles with each attempt, up
/// to [`MAX_RETRY_WAIT`].
const FIRST_RETRY_WAIT: Duration = Duration::from_secs(300);
const MAX_RETRY_WAIT: Duration = Duration::from_secs(6 * 3600);

/// How often sealed evidence past its retention is deleted.
const PURGE_INTERVAL: Duration = Duration::from_secs(3600);

/// Runs intake every `interval` while the service runs.
pub async fn run(state: Weak<AppState>, interval: Duration) {
    let mut purged_at: Option<std::time::Instant> = None;
    loop {
        tokio::time::sleep(interval).await;
        let Some(state) = state.upgrade() else { return };
        match run_once(&state).await {
            Ok(0) => {}
            Ok(done) => tracing::info!(urls = done, "reported URLs fetched"),
            Err(error) => tracing::warn!(%error, "intake failed; retrying"),
        }
        if purged_at.is_none_or(|at| at.elapsed() >= PURGE_INTERVAL) {
            match state.store.purge_evidence(Timestamp::now()).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "evidence past its retention deleted"),
                Err(error) => tracing::warn!(%error, "deleting old evidence failed"),
            }
            purged_at = Some(std::time::Instant::now());
        }
    }
}

/// Claims one batch of reported URLs and takes each through intake; returns how many.
pub async fn run_once(state: &SharedState) -> anyhow::Result<usize> {
    let config = &state.config.intake;
    let now = Timestamp::now();
    let until = Timestamp(now.0 + config.lease.as_millis() as i64);
    let claimed = state.store.claim_urls(config.batch, now, until).await?;
    let count = claimed.len();
    let fetcher = Fetcher::new(config.fetch.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for url in claimed {
        let state = Arc::clone(state);
        let fetcher = fetcher.clone();
        tasks.spawn(async move {
            // What the URL served (and its sealed copy) is held in the node's hashing
            // memory until it is recorded.
            let mut held = state.hashing.empty();
            let (outcome, addresses) = outcome(&state, &fetcher, &url, &mut held).await;
            let outcome = within_rules(outcome);
            // Where it is hosted, when the host answered: kept before the fetch's outcome,
            // so that a URL known or assessed is forwarded to the partner hotline covering
            // its country rather than noticed here (a node that stops between the two
            // fetches the URL again, its claim lapsing).
            if !addresses.is_empty() {
                let places = state.config.intake.hosting.places(&addresses);
                if let Err(error) = state.store.set_url_hosting(url.id, &places).await {
                    tracing::warn!(url = url.id.0, %error, "keeping where a URL is hosted failed");
                }
            }
            let recorded = state
                .store
                .record_fetch(&Actor::intake(), url.id, &outcome)
                .await;
            drop((outcome, held));
            (url.id, recorded)
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (id, recorded) = done?;
        match recorded {
            Ok(state) => tracing::info!(url = id.0, state = state.name(), "reported URL taken in"),
            // The claim lapses and the URL is taken again.
            Err(error) => tracing::warn!(url = id.0, %error, "recording a fetch failed"),
        }
    }
    Ok(count)
}

/// What fetching, hashing and matching a reported URL gives, and the addresses its host
/// stood for (none when it was not reached).
async fn outcome(
    state: &SharedState,
    fetcher: &Fetcher,
    url: &ReportedUrl,
    held: &mut Reservation,
) -> (FetchOutcome, Vec<std::net::IpAddr>) {
    let retry_at = Timestamp(Timestamp::now().0 + retry_wait(url.attempts).as_millis() as i64);
    let mut fetched = match fetcher.fetch_into(&url.url, held).await {
        Ok(fetched) => fetched,
        Err(error) => {
            let refused = error.is_refusal();
            let failed = FetchOutcome::Failed {
                error: error.to_string(),
                refused,
                retry_at: (!refused).then_some(retry_at),
            };
            return (failed, Vec::new());
        }
    };
    let addresses = std::mem::take(&mut fetched.addresses);
    (served(state, url, fetched, held, retry_at).await, addresses)
}

/// What a URL's answer gives: hashed and matched media, a page, or a failure.
async fn served(
    state: &SharedState,
    url: &ReportedUrl,
    fetched: crate::fetch::Fetched,
    held: &mut Reservation,
    retry_at: Timestamp,
) -> FetchOutcome {
    let failed = |error: String| FetchOutcome::Failed {
        error,
        refused: false,
        retry_at: Some(retry_at),
    };
    if !fetched.redirects.is_empty() {
        // The host only: reported URLs stay out of the logs.
        tracing::debug!(
            url = url.id.0,
            redirects = fetched.redirects.len(),
            served_by = fetched.url.host_str().unwrap_or_default(),
            "reported URL redirected"
        );
    }
    if !(200..300).contains(&fetched.status) {
        return failed(format!("the host answered HTTP {}", fetched.status));
    }
    let Some(media_type) = media_type(&fetched.body) else {
        // A page, not a picture or a video: nothing to hash or match, and nothing kept; an
        // analyst decides on it from its URL. (Media a page embeds is not followed.)
        return FetchOutcome::Fetched {
            media_type: declared_type(fetched.content_type.as_deref()),
            sha256: ward_core::digest::FileDigests::of(&fetched.body)
                .sha256
                .to_string(),
            signals: Vec::new(),
            matched: None,
            related: None,
            evidence: None,
        };
    };
    let mut video = state.config.video.clone();
    video.trim_bars = true;
    let bytes = bytes::Bytes::from(fetched.body);
    let hashed = match matching::hash_bytes(bytes.clone(), held, video, Patience::Background).await
    {
        Ok(hashed) => hashed,
        // No hashing memory for it now (a node's budget says nothing of the media): later.
        Err(error) if error.code == super::budget::OVER_BUDGET => {
            return failed(format!("{media_type} not hashed yet: {}", error.message));
        }
        Err(error) => {
            return FetchOutcome::Failed {
                error: format!("{media_type} that could not be hashed: {}", error.message),
                refused: false,
                retry_at: None,
            };
        }
    };
    let trimmed = match &hashed.kind {
        MediaKind::Video { trimmed, .. } => trimmed.clone(),
        MediaKind::Image { .. } => None,
    };
    let signals = hashed.signals(Quality::MATCHABLE);
    // A hotline's intake sees every enabled bank, whatever its enabled ratio (a share of
    // platforms' lookups): the coin flip is bypassed.
    let matched =
        match matching::match_signals(state, &super::auth::Intake, &signals, trimmed.as_ref(), 0.0)
            .await
        {
            Ok(answer) => answer
                .matches
                .iter()
                .find(|m| m.bank.kind == BankKind::Standard)
                .map(|m| m.content.id),
            Err(error) => return failed(format!("matching failed: {}", error.message)),
        };
    // Known content takes the matched content's assessment; content a bank holds without
    // one (a list's hashes without categories) goes to an analyst, with its series.
    let (matched, related) = match matched {
        Some(id) => match state.store.content(id).await {
            Ok(Some(content)) => match content.assessment {
                Some(assessment) => (Some((id, Some(assessment))), None),
                None => (None, Some(id)),
            },
            // Removed since it matched: the URL is novel after all.
            Ok(None) => (None, None),
            Err(error) => return failed(format!("reading matched content: {error}")),
        },
        None => (None, None),
    };
    // Only what an analyst will look at is kept, sealed (a copy, held too).
    let evidence = match (&matched, &state.config.intake.evidence) {
        (None, Some(key)) => match held
            .grow_to(2 * bytes.len() as u64 + 4096, Patience::Background)
            .await
            .map_err(|_| anyhow::anyhow!("no hashing memory to seal what it served"))
            .and_then(|()| key.seal(url.id, &bytes))
        {
            Ok((nonce, ciphertext)) => {
                let now = Timestamp::now();
                let retention = state.config.intake.retention.as_millis() as i64;
                Some(Evidence {
                    media_type: media_type.clone(),
                    nonce,
                    ciphertext,
                    stored_at: now,
                    delete_after: Timestamp(now.0 + retention),
                })
            }
            Err(error) => return failed(format!("{error:#}")),
        },
        _ => None,
    };
    FetchOutcome::Fetched {
        media_type,
        sha256: hashed.digests.sha256.to_string(),
        signals: signals
            .iter()
            .map(|(signal, _)| super::api::store_signal(signal))
            .collect(),
        matched,
        related,
        evidence,
    }
}

/// An outcome within the store's rules: a fetch error (which may quote a host's words) cut
/// to the longest the store keeps.
fn within_rules(outcome: FetchOutcome) -> FetchOutcome {
    match outcome {
        FetchOutcome::Failed {
            error,
            refused,
            retry_at,
        } if !ward_store::rules::within(&error, ward_store::rules::FETCH_ERROR_MAX) => {
            FetchOutcome::Failed {
                error: error
                    .chars()
                    .take(ward_store::rules::FETCH_ERROR_MAX - 1)
                    .chain(['…'])
                    .collect(),
                refused,
                retry_at,
            }
        }
        other => other,
    }
}

/// The media type of what a URL served, from its first bytes (never from what the host
/// says it is).
fn media_type(bytes: &[u8]) -> Option<String> {
    if let Some(format) = ImageFormat::sniff(bytes) {
        let name = match format {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Gif => "gif",
            ImageFormat::WebP => "webp",
            ImageFormat::Bmp => "bmp",
            ImageFormat::Tiff => "tiff",
        };
        return Some(format!("image/{name}"));
    }
    video::sniff(bytes).map(|container| format!("video/{container}"))
}

/// The type a host declared for what is not a picture or a video, as the analyst reads it:
/// the media type alone, lower case, or `application/octet-stream`.
fn declared_type(content_type: Option<&str>) -> String {
    let essence = content_type
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| {
            t.len() <= 100
                && t.split_once('/')
                    .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/+-.".contains(&b))
        });
    // A host may not pass a page off as media the analyst's pages would show.
    match essence {
        Some(t) if !t.starts_with("image/") && !t.starts_with("video/") => t,
        _ => "application/octet-stream".to_owned(),
    }
}

/// How long to wait before trying a URL again after `attempts` fetches.
fn retry_wait(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    (FIRST_RETRY_WAIT * 2u32.pow(doublings)).min(MAX_RETRY_WAIT)
}

#[cfg(test)]
mod tests;
