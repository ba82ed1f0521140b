//! Hashing and matching for platforms: `POST /v1/hash` (media in, signals out), `GET
//! /v1/match` (one signal), `POST /v1/match` (signals, or media hashed and matched in one
//! call). Every match names its bank and content, with the distance (or a video's shares),
//! categories, provenance, opinion status and the content's series with its flags; matches
//! of a negative bank suppress the other matches of the same query signal; the answer's
//! placement says whether the query is known, near known content, or novel.

use std::io::Write as _;
use std::str::FromStr;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use ward_core::decode::{self, DecodeOptions};
use ward_core::digest::FileDigests;
use ward_core::lists::{Signal, SignalType};
use ward_core::pdq::{self, Pipeline, Quality};
use ward_core::video::{self, CompareOptions, VideoOptions, Vpdq};
use ward_store::{Bank, BankId, BankKind, ContentId, Role, SeriesBadge};

use super::SharedState;
use super::api::{SignalRequest, stored_signal};
use super::auth::{Caller, Viewer};
use super::bank_index::{IdMap, IndexHit};
use super::budget::{self, Patience, Reservation, Upload};
use super::coinflip::Coin;
use super::error::{ApiError, ApiResult};
use super::summaries::{ContentSummary, raw_json};

/// Roles that may hash and match.
pub(crate) const MATCHERS: &[Role] = &[Role::Platform, Role::Curator, Role::Analyst];

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
    pub fn signals(&self, min_quality: Quality) -> Vec<(Signal, bool)> {
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

/// Hashes media bytes (an image in memory, a video through a temporary file) on a blocking
/// thread, once the memory that takes is reserved in `held` from the node's hashing budget:
/// `held` holds the bytes already (it grows to their length if not); a picture's decode
/// (planned from its headers) and hashing are added, or a video's worker, and given back
/// after.
pub async fn hash_bytes(
    bytes: Bytes,
    held: &mut Reservation,
    video: VideoOptions,
    patience: Patience,
) -> ApiResult<HashedMedia> {
    held.grow_to(bytes.len() as u64, patience).await?;
    let before = held.bytes();
    let is_video = video::sniff(&bytes).is_some();
    let work = if is_video {
        budget::VIDEO_MEMORY
    } else {
        let planned = bytes.clone();
        let plan = blocking(move || Ok(decode::plan(&planned, &DecodeOptions::default())?)).await?;
        plan.memory + pdq::memory(plan.width, plan.height)
    };
    held.grow_to(before + work, patience).await?;
    let hashed = blocking(move || {
        let digests = FileDigests::of(&bytes);
        if is_video {
            let mut file = tempfile::NamedTempFile::new()
                .map_err(|e| ApiError::internal(format!("temporary file: {e}")))?;
            file.write_all(&bytes)
                .map_err(|e| ApiError::internal(format!("temporary file: {e}")))?;
            drop(bytes);
            let hashed = crate::video_worker::hash_video(file.path(), &video)?;
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
    .await;
    held.shrink_to(before);
    hashed
}

/// Runs CPU work on media on a blocking thread (never on the async workers).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("hashing task failed: {e}")))?
}

/// The first file part of a multipart upload (a part with a file name, or named `file` or
/// `media`), read within the node's upload limit and hashing budget; returns its bytes
/// with the memory reserved for them.
async fn media_part(state: &SharedState, request: Request) -> ApiResult<(Bytes, Reservation)> {
    let mut upload = Upload::open(
        request,
        state,
        &state.hashing,
        state.config.body_limit as u64,
    )
    .await?;
    let is_file = |name: Option<&str>, file_name: Option<&str>| {
        file_name.is_some() || matches!(name, Some("file" | "media"))
    };
    let (file, _) = upload.first_file(is_file, false).await?;
    let Some((_, bytes)) = file else {
        return Err(ApiError::bad_request(
            "no media: send the file as a multipart part named \"file\"",
        ));
    };
    Ok((Bytes::from(bytes), upload.into_reservation()))
}

pub async fn hash(
    State(state): State<SharedState>,
    caller: Caller,
    request: Request,
) -> ApiResult<Json<Value>> {
    caller.require(MATCHERS)?;
    let (bytes, mut held) = media_part(&state, request).await?;
    let hashed = hash_bytes(
        bytes,
        &mut held,
        state.config.video.clone(),
        Patience::Request,
    )
    .await?;
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
    Coin(draw): Coin,
    Query(query): Query<MatchQuery>,
) -> ApiResult<MatchAnswer> {
    caller.require(MATCHERS)?;
    let signal = parse_query(&query.signal_type, &query.signal)?;
    match_signals(&state, &caller, &[(signal, true)], None, draw).await
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
    Coin(draw): Coin,
    request: Request,
) -> ApiResult<Response> {
    caller.require(MATCHERS)?;
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/") {
        let (bytes, held) = media_part(&state, request).await?;
        let (hashed, answer) = match_media(&state, &caller, bytes, held, draw).await?;
        let mut out = serde_json::to_value(&answer)
            .map_err(|e| ApiError::internal(format!("answer: {e}")))?;
        out["hashes"] = hashed.to_json();
        return Ok(Json(out).into_response());
    }
    // Signals in JSON: the JSON limit, not the upload limit this route has for media.
    let limit = state.config.json_limit;
    let request = request.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
    let Json(request) = Json::<MatchRequest>::from_request(request, &state)
        .await
        .map_err(|e| ApiError::new(e.status(), "bad_request", e.body_text()))?;
    if request.signals.is_empty() || request.signals.len() > 1000 {
        return Err(ApiError::bad_request("send 1 to 1000 signals"));
    }
    let signals = request
        .signals
        .iter()
        .map(|s| parse_query(&s.signal_type, &s.signal).map(|signal| (signal, true)))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(match_signals(&state, &caller, &signals, None, draw)
        .await?
        .into_response())
}

/// Hashes media (held in `held`, from the hashing budget) and matches its signals as
/// `POST /v1/match` does: a video's frames also inside its bars, a picture's PDQ only when
/// its quality is enough.
pub(crate) async fn match_media(
    state: &SharedState,
    viewer: &impl Viewer,
    bytes: Bytes,
    mut held: Reservation,
    draw: f64,
) -> ApiResult<(HashedMedia, MatchAnswer)> {
    let mut video = state.config.video.clone();
    video.trim_bars = true;
    let hashed = hash_bytes(bytes, &mut held, video, Patience::Request).await?;
    drop(held);
    let trimmed = match &hashed.kind {
        MediaKind::Video { trimmed, .. } => trimmed.clone(),
        MediaKind::Image { .. } => None,
    };
    let signals = hashed.signals(Quality::MATCHABLE);
    let answer = match_signals(state, viewer, &signals, trimmed.as_ref(), draw).await?;
    Ok((hashed, answer))
}

/// A signal as a client sends it (type and value), validated and made canonical as stored
/// signals are, then parsed for matching.
pub(crate) fn parse_query(signal_type: &str, value: &str) -> ApiResult<Signal> {
    let stored = stored_signal(signal_type, value)?;
    let signal_type = SignalType::from_str(stored.kind.name())?;
    Ok(Signal::parse(signal_type, &stored.value)?)
}

/// A match answer: the matches, the matches suppressed by a negative bank, and the signal
/// types left unmatched for low quality. Serialised field by field (keys in alphabetical
/// order, as the rest of the API prints them), without an intermediate JSON tree: a busy
/// platform asks this thousands of times a second.
#[derive(Debug, Serialize)]
pub struct MatchAnswer {
    pub matches: Vec<MatchEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_matched_low_quality: Vec<&'static str>,
    /// What the query is, as the matches tell: `known` (one of them is the same: a digest,
    /// PDQ at distance 0, or a vPDQ whose every distinct frame is matched both ways), `near`
    /// (near known content, and so near its series when it is in one) or `novel` (nothing
    /// known; for a report, the content an analyst must see first).
    pub placement: Placement,
    pub suppressed: Vec<MatchEntry>,
}

/// What a query is, as its matches tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    Known,
    Near,
    Novel,
}

impl Placement {
    fn of(matches: &[MatchEntry]) -> Placement {
        if matches.iter().any(MatchEntry::is_same) {
            Placement::Known
        } else if matches.is_empty() {
            Placement::Novel
        } else {
            Placement::Near
        }
    }
}

impl IntoResponse for MatchAnswer {
    /// JSON written straight into a buffer of about the answer's size.
    fn into_response(self) -> Response {
        let entries = self.matches.len() + self.suppressed.len();
        let mut body = Vec::with_capacity(64 + 384 * entries);
        match serde_json::to_writer(&mut body, &self) {
            Ok(()) => ([(CONTENT_TYPE, "application/json")], body).into_response(),
            Err(e) => ApiError::internal(format!("answer: {e}")).into_response(),
        }
    }
}

/// One stored signal that a query signal matched, with its bank and content.
#[derive(Debug)]
pub struct MatchEntry {
    /// The query signal (`vpdq` for a video's frames), rendered as a JSON string once for
    /// all its matches.
    pub query: Arc<RawValue>,
    pub hit: IndexHit,
    pub bank: Arc<Bank>,
    pub content: ContentSummary,
    /// For a suppressed match: the negative bank's content that suppressed it.
    pub suppressed_by: Vec<ContentId>,
    /// The series of the matched content, when it is in one.
    pub series: Option<SeriesBadge>,
}

impl MatchEntry {
    /// Whether the query is the matched content itself, as far as its signals tell.
    pub fn is_same(&self) -> bool {
        match (self.hit.distance, self.hit.shares) {
            (Some(distance), _) => distance == 0,
            (None, Some((query, compared))) => query >= 100.0 && compared >= 100.0,
            (None, None) => true, // a digest
        }
    }

    /// A vPDQ match's two shares, in percent with two decimals, as answers print them.
    pub fn shares(&self) -> Option<(f64, f64)> {
        let round = |share: f64| (share * 100.0).round() / 100.0;
        self.hit.shares.map(|(q, c)| (round(q), round(c)))
    }
}

impl Serialize for MatchEntry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;

        #[derive(Serialize)]
        struct BankRef<'a> {
            id: BankId,
            kind: &'static str,
            name: &'a str,
        }

        let mut map = serializer.serialize_map(None)?;
        let bank = BankRef {
            id: self.bank.id,
            kind: self.bank.kind.name(),
            name: &self.bank.name,
        };
        map.serialize_entry("bank", &bank)?;
        map.serialize_entry("categories", &self.content.categories)?;
        let shares = self.shares();
        if let Some((_, compared)) = shares {
            map.serialize_entry("compared_share", &compared)?;
        }
        map.serialize_entry("content_id", &self.content.id)?;
        if let Some(distance) = self.hit.distance {
            map.serialize_entry("distance", &distance)?;
        }
        map.serialize_entry("opinion_status", self.content.opinion_status.name())?;
        map.serialize_entry("provenance", &self.content.provenance)?;
        map.serialize_entry("query", &self.query)?;
        if let Some((query, _)) = shares {
            map.serialize_entry("query_share", &query)?;
        }
        if let Some(series) = &self.series {
            map.serialize_entry("series", series)?;
        }
        map.serialize_entry("signal_id", &self.hit.signal)?;
        map.serialize_entry("signal_type", self.hit.signal_type.name())?;
        if !self.suppressed_by.is_empty() {
            map.serialize_entry("suppressed_by", &self.suppressed_by)?;
        }
        map.end()
    }
}

/// The banks one answer has met, each read from the index once (a query's matches are
/// mostly in one or two banks).
#[derive(Default)]
struct BanksSeen(Vec<(BankId, Option<Arc<Bank>>)>);

impl BanksSeen {
    fn get(&mut self, state: &SharedState, id: BankId) -> Option<&Arc<Bank>> {
        let at = match self.0.iter().position(|(seen, _)| *seen == id) {
            Some(at) => at,
            None => {
                self.0.push((id, state.index.bank(id)));
                self.0.len() - 1
            }
        };
        self.0[at].1.as_ref()
    }
}

/// Matches `signals` (each with whether it may be matched) against the banks the caller
/// sees, applying bank rules; `trimmed` is a query video's frames inside its bars. `draw`
/// is the lookup's coin flip ([`super::coinflip`]): a bank whose enabled ratio is below it
/// takes no part.
pub async fn match_signals(
    state: &SharedState,
    caller: &impl Viewer,
    signals: &[(Signal, bool)],
    trimmed: Option<&Vpdq>,
    draw: f64,
) -> ApiResult<MatchAnswer> {
    let video = CompareOptions::default();
    /// A match before its content's summary is known.
    struct Found {
        query: Arc<RawValue>,
        hit: IndexHit,
        bank: Arc<Bank>,
        suppressed_by: Vec<ContentId>,
    }
    let mut found: Vec<Found> = Vec::new();
    let mut banks = BanksSeen::default();
    let mut low_quality = Vec::new();
    let max_distance = state.index.max_distance();
    let started = std::time::Instant::now();
    for (signal, matchable) in signals {
        if !matchable {
            low_quality.push(signal.signal_type().name());
            continue;
        }
        let query: Arc<RawValue> = Arc::from(match signal {
            Signal::Vpdq(_) => raw_json(&"vpdq"),
            other => raw_json(&other.to_string()),
        });
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
        // Bank rules: enabled (and drawn), visible to the caller, within the bank's distance.
        let hits: Vec<(IndexHit, Arc<Bank>)> = hits
            .into_iter()
            .filter_map(|hit| {
                let bank = banks.get(state, hit.located.bank)?;
                let applies = bank.enabled
                    && bank.enabled_ratio.get() >= draw
                    && caller.sees(bank)
                    && hit.distance.is_none_or(|d| d <= bank.distance);
                applies.then(|| (hit, Arc::clone(bank)))
            })
            .collect();
        let negatives: Vec<ContentId> = hits
            .iter()
            .filter(|(_, bank)| bank.kind == BankKind::Negative)
            .map(|(hit, _)| hit.located.content)
            .collect();
        for (hit, bank) in hits {
            if bank.kind != BankKind::Negative {
                found.push(Found {
                    query: Arc::clone(&query),
                    hit,
                    bank,
                    suppressed_by: negatives.clone(),
                });
            }
        }
    }
    let matched = found.iter().filter(|f| f.suppressed_by.is_empty()).count();
    state.metrics.observe_match(started.elapsed(), matched);

    // Details of the matched content and their series, from memory or in one read each.
    let mut ids: Vec<ContentId> = found.iter().map(|f| f.hit.located.content).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut matched = if ids.is_empty() {
        Default::default()
    } else {
        state
            .index
            .summaries()
            .get(&state.summary_reads, &ids)
            .await?
    };
    let mut answer = MatchAnswer {
        matches: Vec::new(),
        not_matched_low_quality: low_quality,
        placement: Placement::Novel,
        suppressed: Vec::new(),
    };
    // How many entries show each item: the last takes its summary, the others copy it
    // (summaries share their rendered JSON, whose counts both cores would otherwise touch
    // for every entry).
    let mut uses: IdMap<ContentId, u32> =
        IdMap::with_capacity_and_hasher(ids.len(), Default::default());
    for f in &found {
        *uses.entry(f.hit.located.content).or_default() += 1;
    }
    for f in found {
        let id = f.hit.located.content;
        let left = uses.get_mut(&id).expect("counted above");
        *left -= 1;
        // Content removed since the index was read is left out.
        let content = if *left == 0 {
            matched.remove(&id)
        } else {
            matched.get(&id).cloned()
        };
        let Some(content) = content else {
            continue;
        };
        let entry = MatchEntry {
            query: f.query,
            hit: f.hit,
            bank: f.bank,
            content: content.summary,
            suppressed_by: f.suppressed_by,
            series: content.series,
        };
        if entry.suppressed_by.is_empty() {
            answer.matches.push(entry);
        } else {
            answer.suppressed.push(entry);
        }
    }
    answer.placement = Placement::of(&answer.matches);
    state.tally.record(caller.tallied_org(), &answer);
    Ok(answer)
}
