//! Hashing and matching for platforms: `POST /v1/hash` (media in, signals out), `GET
//! /v1/match` (one signal), `POST /v1/match` (signals, or media hashed and matched in one
//! call). Every match names its bank and content, with the distance (or a video's shares),
//! categories, provenance and opinion status; matches of a negative bank suppress the other
//! matches of the same query signal.

use std::collections::HashMap;
use std::io::Write as _;
use std::str::FromStr;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::header::CONTENT_TYPE;
use serde::Deserialize;
use serde_json::{Value, json};
use ward_core::decode::{self, DecodeOptions};
use ward_core::digest::FileDigests;
use ward_core::lists::{Signal, SignalType};
use ward_core::pdq::{self, Pipeline, Quality};
use ward_core::video::{self, CompareOptions, VideoOptions, Vpdq};
use ward_store::{BankKind, Content, ContentId, Role, Store};

use super::SharedState;
use super::api::{SignalRequest, stored_signal};
use super::auth::Caller;
use super::bank_index::IndexHit;
use super::error::{ApiError, ApiResult};
use super::view;

/// Roles that may hash and match.
pub(super) const MATCHERS: &[Role] = &[Role::Platform, Role::Curator, Role::Analyst];

/// What a piece of media hashed to.
#[derive(Clone, Debug)]
pub struct HashedMedia {
    pub digests: FileDigests,
    pub kind: MediaKind,
}

#[derive(Clone, Debug)]
pub enum MediaKind {
    Image { pdq: pdq::PdqHash, quality: Quality },
    Video { vpdq: Vpdq, trimmed: Option<Vpdq> },
}

impl HashedMedia {
    pub fn to_json(&self) -> Value {
        let mut out = json!({
            "md5": self.digests.md5.to_string(),
            "sha1": self.digests.sha1.to_string(),
            "sha256": self.digests.sha256.to_string(),
        });
        match &self.kind {
            MediaKind::Image { pdq, quality } => {
                out["media"] = json!("image");
                out["pdq"] = json!(pdq.to_string());
                out["quality"] = json!(quality.get());
            }
            MediaKind::Video { vpdq, .. } => {
                out["media"] = json!("video");
                out["vpdq"] = serde_json::from_str(&vpdq.to_json()).unwrap_or(Value::Null);
            }
        }
        out
    }

    /// The signals to match, each with whether it may be matched (a PDQ hash below the
    /// minimum quality is not).
    fn signals(&self, min_quality: Quality) -> Vec<(Signal, bool)> {
        let mut signals = vec![
            (Signal::Md5(self.digests.md5), true),
            (Signal::Sha1(self.digests.sha1), true),
            (Signal::Sha256(self.digests.sha256), true),
        ];
        match &self.kind {
            MediaKind::Image { pdq, quality } => {
                signals.insert(0, (Signal::Pdq(*pdq), *quality >= min_quality));
            }
            MediaKind::Video { vpdq, .. } => signals.insert(0, (Signal::Vpdq(vpdq.clone()), true)),
        }
        signals
    }
}

/// Hashes media bytes (an image in memory, a video through a temporary file), on a
/// blocking thread.
pub async fn hash_bytes(bytes: Vec<u8>, video: VideoOptions) -> ApiResult<HashedMedia> {
    tokio::task::spawn_blocking(move || {
        let digests = FileDigests::of(&bytes);
        if video::sniff(&bytes).is_some() {
            let mut file = tempfile::NamedTempFile::new()
                .map_err(|e| ApiError::internal(format!("temporary file: {e}")))?;
            file.write_all(&bytes)
                .map_err(|e| ApiError::internal(format!("temporary file: {e}")))?;
            drop(bytes);
            let hashed = video::hash_video(file.path(), &video)?;
            if hashed.vpdq.is_empty() {
                return Err(ApiError::from(ward_core::Error::Corrupt {
                    format: "video",
                    message: "no frames could be decoded".into(),
                }));
            }
            return Ok(HashedMedia {
                digests,
                kind: MediaKind::Video {
                    vpdq: hashed.vpdq,
                    trimmed: hashed.trimmed,
                },
            });
        }
        let picture = decode::decode(&bytes, &DecodeOptions::default())?;
        let signal = pdq::hash(&picture, Pipeline::Full);
        Ok(HashedMedia {
            digests,
            kind: MediaKind::Image {
                pdq: signal.hash,
                quality: signal.quality,
            },
        })
    })
    .await
    .map_err(|e| ApiError::internal(format!("hashing task failed: {e}")))?
}

/// The bytes of the first file part of a multipart body.
async fn media_part(mut multipart: Multipart) -> ApiResult<Vec<u8>> {
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(format!("multipart: {e}")))?
    {
        if field.file_name().is_some()
            || field.name() == Some("file")
            || field.name() == Some("media")
        {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| ApiError::bad_request(format!("multipart: {e}")))?;
            return Ok(bytes.to_vec());
        }
    }
    Err(ApiError::bad_request(
        "no media: send the file as a multipart part named \"file\"",
    ))
}

pub async fn hash(
    State(state): State<SharedState>,
    caller: Caller,
    multipart: Multipart,
) -> ApiResult<Json<Value>> {
    caller.require(MATCHERS)?;
    let bytes = media_part(multipart).await?;
    let hashed = hash_bytes(bytes, state.config.video.clone()).await?;
    Ok(Json(hashed.to_json()))
}

#[derive(Debug, Deserialize)]
pub struct MatchQuery {
    signal_type: String,
    signal: String,
}

pub async fn match_get(
    State(state): State<SharedState>,
    caller: Caller,
    Query(query): Query<MatchQuery>,
) -> ApiResult<Json<Value>> {
    caller.require(MATCHERS)?;
    let signal = parse_query(&query.signal_type, &query.signal)?;
    let matches = match_signals(&state, &caller, &[(signal, true)], None).await?;
    Ok(Json(matches))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchRequest {
    signals: Vec<SignalRequest>,
}

/// `POST /v1/match`: JSON `{"signals": [...]}`, or multipart media hashed first.
pub async fn match_post(
    State(state): State<SharedState>,
    caller: Caller,
    request: Request,
) -> ApiResult<Json<Value>> {
    caller.require(MATCHERS)?;
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/") {
        let multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let bytes = media_part(multipart).await?;
        let mut video = state.config.video.clone();
        video.trim_bars = true;
        let hashed = hash_bytes(bytes, video).await?;
        let trimmed = match &hashed.kind {
            MediaKind::Video { trimmed, .. } => trimmed.clone(),
            MediaKind::Image { .. } => None,
        };
        let signals = hashed.signals(Quality::MATCHABLE);
        let mut out = match_signals(&state, &caller, &signals, trimmed.as_ref()).await?;
        out["hashes"] = hashed.to_json();
        return Ok(Json(out));
    }
    let Json(request) = Json::<MatchRequest>::from_request(request, &state)
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))?;
    if request.signals.is_empty() || request.signals.len() > 1000 {
        return Err(ApiError::bad_request("send 1 to 1000 signals"));
    }
    let signals = request
        .signals
        .iter()
        .map(|s| parse_query(&s.signal_type, &s.signal).map(|signal| (signal, true)))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(match_signals(&state, &caller, &signals, None).await?))
}

fn parse_query(signal_type: &str, value: &str) -> ApiResult<Signal> {
    // Validated and made canonical as stored signals are, then parsed for matching.
    let stored = stored_signal(signal_type, value)?;
    let signal_type = SignalType::from_str(stored.kind.name())?;
    Ok(Signal::parse(signal_type, &stored.value)?)
}

/// Matches `signals` (each with whether it may be matched) against the banks the caller
/// sees, applying bank rules; `trimmed` is a query video's frames inside its bars.
pub async fn match_signals(
    state: &SharedState,
    caller: &Caller,
    signals: &[(Signal, bool)],
    trimmed: Option<&Vpdq>,
) -> ApiResult<Value> {
    let video = CompareOptions::default();
    let mut matches: Vec<(String, IndexHit)> = Vec::new();
    let mut suppressed: Vec<(String, IndexHit, Vec<ContentId>)> = Vec::new();
    let mut low_quality = Vec::new();
    let max_distance = state.index.max_distance();
    let started = std::time::Instant::now();
    for (signal, matchable) in signals {
        let query = match signal {
            Signal::Vpdq(_) => "vpdq".to_string(),
            other => other.to_string(),
        };
        if !matchable {
            low_quality.push(signal.signal_type().name());
            continue;
        }
        let mut hits = state.index.search(signal, max_distance, &video);
        if let (Signal::Vpdq(_), Some(trimmed)) = (signal, trimmed) {
            for hit in state
                .index
                .search(&Signal::Vpdq(trimmed.clone()), max_distance, &video)
            {
                if !hits.iter().any(|h| h.signal == hit.signal) {
                    hits.push(hit);
                }
            }
        }
        // Bank rules: enabled, visible to the caller, within the bank's distance.
        hits.retain(|hit| match state.index.bank(hit.located.bank) {
            Some(bank) => {
                bank.enabled
                    && caller.sees(&bank)
                    && hit.distance.is_none_or(|d| d <= bank.distance)
            }
            None => false,
        });
        let is_negative = |hit: &IndexHit| {
            state
                .index
                .bank(hit.located.bank)
                .is_some_and(|b| b.kind == BankKind::Negative)
        };
        let negatives: Vec<ContentId> = hits
            .iter()
            .filter(|h| is_negative(h))
            .map(|h| h.located.content)
            .collect();
        for hit in hits.into_iter().filter(|h| !is_negative(h)) {
            if negatives.is_empty() {
                matches.push((query.clone(), hit));
            } else {
                suppressed.push((query.clone(), hit, negatives.clone()));
            }
        }
    }
    state
        .metrics
        .observe_match(started.elapsed(), matches.len());

    // Details of the matched content, in one read.
    let mut ids: Vec<ContentId> = matches
        .iter()
        .map(|(_, h)| h.located.content)
        .chain(suppressed.iter().map(|(_, h, _)| h.located.content))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let contents: HashMap<ContentId, Content> = if ids.is_empty() {
        HashMap::new()
    } else {
        let found = state.store.contents(&ids).await?;
        found.into_iter().map(|c| (c.id, c)).collect()
    };
    let render = |query: &str, hit: &IndexHit| -> Option<Value> {
        let content = contents.get(&hit.located.content)?;
        let bank = state.index.bank(hit.located.bank)?;
        let mut out = json!({
            "signal_type": hit.signal_type.name(),
            "query": query,
            "bank": {"id": bank.id, "name": bank.name, "kind": bank.kind.name()},
            "content_id": content.id,
            "signal_id": hit.signal,
            "categories": view::categories(content.assessment.as_ref()),
            "provenance": view::provenance(&content.provenance),
            "opinion_status": content.opinion_status().name(),
        });
        if let Some(distance) = hit.distance {
            out["distance"] = json!(distance);
        }
        if let Some((query_share, compared_share)) = hit.shares {
            out["query_share"] = json!((query_share * 100.0).round() / 100.0);
            out["compared_share"] = json!((compared_share * 100.0).round() / 100.0);
        }
        Some(out)
    };
    let matched: Vec<Value> = matches.iter().filter_map(|(q, h)| render(q, h)).collect();
    let suppressed: Vec<Value> = suppressed
        .iter()
        .filter_map(|(q, h, by)| {
            let mut out = render(q, h)?;
            out["suppressed_by"] = json!(by);
            Some(out)
        })
        .collect();
    let mut out = json!({ "matches": matched, "suppressed": suppressed });
    if !low_quality.is_empty() {
        out["not_matched_low_quality"] = json!(low_quality);
    }
    Ok(out)
}
