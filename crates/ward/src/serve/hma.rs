//! HMA-compatible routes: Meta's Hasher-Matcher-Actioner (HMA 2, "OpenMediaMatch") API served
//! from Ward's banks, so that platforms' existing HMA clients work unchanged.
//!
//! - `POST /h/hash`: one file in a multipart part named `photo` or `video` (`?types=`) →
//!   `{"pdq": "…"}` or `{"video_md5": "…", "vpdq": "…"}`.
//! - `GET /m/lookup?signal_type=&signal=` (`banks`, `seed`, `bypass_coinflip`) →
//!   `{"BANK": [{"bank_content_id": 1, "distance": "0"}]}`; `POST /m/lookup` with an upload →
//!   that per signal type.
//! - `GET /m/raw_lookup?signal_type=&signal=` (`banks`, `include_distance`) →
//!   `{"matches": [1]}` or `{"matches": [{"bank_content_id": 1, "distance": "0"}]}`.
//! - `POST /m/compare` `{"pdq": [a, b]}` → `{"pdq": [true, {"distance": 9}]}`.
//! - `GET/POST /c/banks`, `GET/PUT/DELETE /c/bank/{name}` → `{"name",
//!   "matching_enabled_ratio"}` (201 when created; `{"message": "Done"}` when deleted).
//! - Content as a resource (`/c/bank/{name}/content…`, `/c/bank/{name}/signal`):
//!   `hma_content.rs`. Signal types, the index's state, `/site-map` and
//!   `/openapi/openapi.json`: `hma_types.rs`. Exchanges (`/c/exchanges…`):
//!   `hma_exchanges.rs`.
//! - `GET /status` → `I-AM-ALIVE` (text), or 503 `INDEX-NOT-LOADED` / `INDEX-STALE`;
//!   `GET /status/live` → `I-AM-ALIVE` whatever the index's state.
//! - `GET /c/content_type` → `[{"name": "photo", "enabled": true}, {"name": "video", …}]`.
//!
//! Errors are HMA's `{"message": "…"}` with the status. How HMA's concepts map onto Ward's:
//!
//! - An HMA bank is a Ward bank by name, among the banks the caller sees: its
//!   organisation's bank of that name, else the one other bank of that name it sees (names
//!   are unique per organisation; a name several other organisations' visible banks share
//!   is refused with 409, asking for the id). Creating a bank whose name another
//!   organisation uses succeeds: nothing tells of banks the caller does not see.
//!   HMA's `matching_enabled_ratio` is the bank's enabled ratio: each lookup draws one
//!   number in [0, 1) (CPython's draw for a `seed`, 0 with `bypass_coinflip`) and a bank
//!   takes part when its ratio is at least that; `raw_lookup` ignores ratios, as HMA's
//!   does. A bank Ward has disabled (through `/v1`) reads back as 0 and takes part in no
//!   lookup; setting a ratio or `enabled` through HMA enables it. Ratios are 0 to 1 (HMA
//!   stores any number). `{"enabled": false}` on creation makes a bank of ratio 0 (HMA's
//!   default ratio of 1 overrides it). Banks created here are `standard`, `private` to the
//!   caller's organisation, with distance 31; names are checked as HMA checks them (`^[A-Z_][A-Z0-9_]*$`).
//! - HMA content ids are Ward content ids. Signal types are HMA's names (`pdq`, `video_md5`,
//!   `vpdq`) and Ward's other spellings (`md5`, `sha1`, `sha256`).
//! - Lookups go through [`match_signals`], so Ward's bank rules hold exactly as for
//!   `/v1/match`: only banks the caller sees, enabled banks and content, each bank's own PDQ
//!   distance, and matches that a negative bank suppresses left out. `raw_lookup` too, where
//!   HMA itself skips the enabled checks.
//! - `url=` (`/h/hash`, `/m/lookup`, `/c/bank/{name}/content`) is fetched through the
//!   safe fetcher of reported URLs (`crate::fetch`: http and https only, public addresses
//!   only, each redirect checked, 30 s) with HMA's limit of 100 MiB (413 `Content too
//!   large`), into the node's hashing memory; `--no-hma-url-fetch` refuses it instead.
//!   HMA's allow-list of hosts is not needed: no address inside the deployment's network is
//!   ever reached.
//! - A file in the part `video` that is no video Ward decodes (not one, or broken) gives its
//!   `video_md5` (the file's MD5) and no `vpdq`, as HMA does; it is never handed to FFmpeg
//!   unless its first bytes are a video container's.
//! - Every route takes `Authorization: Bearer <key>` with the role of its `/v1` equivalent,
//!   except `/status`, `/status/live`, `/site-map` and `/openapi/openapi.json`, which are
//!   public like `/healthz` and `/openapi.json`.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{Map, Value, json};
use ward_core::digest::FileDigests;
use ward_core::lists::{Signal, SignalType};
use ward_core::pdq::Quality;
use ward_core::video::{self, CompareOptions, Vpdq};
use ward_store::{
    Bank, BankId, BankKind, BankUpdate, NewBank, Ratio, Role, Sharing, Store, StoreError,
};

use super::SharedState;
use super::auth::{AmbiguousName, Caller};
use super::budget::{self, Patience, Reservation};
use super::error::ApiError;
use super::matching::{MATCHERS, MatchEntry, MediaKind, hash_bytes, match_signals};

/// The routes, merged into the application by `serve::router`.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/status", get(status))
        .route("/status/live", get(status_live))
        .route("/c/content_type", get(content_types))
        .route("/h/hash", get(hash_url).post(hash_upload).layer(uploads()))
        .route(
            "/m/lookup",
            get(lookup_get).post(lookup_post).layer(uploads()),
        )
        .route("/m/raw_lookup", get(raw_lookup))
        .route("/m/compare", post(compare))
        .route("/c/banks", get(list_banks).post(create_bank))
        .route(
            "/c/bank/{name}",
            get(get_bank).put(update_bank).delete(delete_bank),
        )
        .route("/m/index/status", get(super::hma_types::index_status))
        .route("/c/signal_type", get(super::hma_types::signal_types))
        .route(
            "/c/signal_type/{name}",
            put(super::hma_types::set_signal_type),
        )
        .route(
            "/c/signal_type/index",
            get(super::hma_types::signal_type_index),
        )
        .route("/site-map", get(super::hma_types::site_map))
        .route("/openapi/openapi.json", get(super::hma_types::openapi))
        .merge(super::hma_content::routes())
        .merge(super::hma_exchanges::routes())
}

/// Routes that take media read their bodies within the upload limit themselves
/// (`budget::Upload`), not the JSON limit every other route has.
pub(super) fn uploads() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::disable()
}

/// What HMA's similarity info prints for exact-match signal types (MD5 and other digests).
const NO_DISTANCE: &str = "-";
/// HMA's PDQ threshold for `/m/compare` (`PDQ_CONFIDENT_MATCH_THRESHOLD`).
const COMPARE_PDQ_DISTANCE: u32 = 31;

/// An error in HMA's shape: `{"message": "…"}` with its status.
#[derive(Debug)]
pub(crate) struct HmaError {
    status: StatusCode,
    message: String,
    /// `Retry-After` seconds, for 503s.
    retry_after: Option<u64>,
    /// A body other than `{"message": …}` (a validation failure's array).
    body: Option<Value>,
}

pub(crate) type HmaResult<T> = Result<T, HmaError>;

impl HmaError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> HmaError {
        HmaError {
            status,
            message: message.into(),
            retry_after: None,
            body: None,
        }
    }

    /// A request that its route's declared model refuses: 422 with the list of failures as
    /// HMA's framework (flask-openapi3, pydantic) gives it, each naming the missing field.
    pub(super) fn missing(location: &str, field: &str, input: Value) -> HmaError {
        HmaError::invalid(location, field, "missing", "Field required", input)
    }

    /// A field that its route's declared model refuses: 422 with pydantic's failure of
    /// `kind` (`bool_parsing`, `float_type`, …) and its message.
    pub(super) fn invalid(
        location: &str,
        field: &str,
        kind: &str,
        message: &str,
        input: Value,
    ) -> HmaError {
        HmaError {
            body: Some(json!([{
                "type": kind,
                "loc": [location, field],
                "msg": message,
                "input": input,
            }])),
            ..HmaError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{field}: {message}"),
            )
        }
    }

    pub(super) fn bad_request(message: impl Into<String>) -> HmaError {
        HmaError::new(StatusCode::BAD_REQUEST, message)
    }

    pub(super) fn not_found(message: impl Into<String>) -> HmaError {
        HmaError::new(StatusCode::NOT_FOUND, message)
    }

    fn forbidden(message: impl Into<String>) -> HmaError {
        HmaError::new(StatusCode::FORBIDDEN, message)
    }

    /// A name that means several banks the caller sees, none its own: 409, asking for the
    /// bank by id (through `/v1/banks/{id}`), since HMA's routes take names only.
    fn ambiguous(error: &AmbiguousName) -> HmaError {
        HmaError::new(
            StatusCode::CONFLICT,
            format!("{error} (through /v1/banks/ID: HMA's routes take names only)"),
        )
    }

    /// This deployment does not fetch URLs for its clients (`--no-hma-url-fetch`).
    pub(super) fn no_fetch() -> HmaError {
        HmaError::bad_request(
            "this deployment does not fetch URLs (--no-hma-url-fetch): upload the file as \
             multipart/form-data, one part named \"photo\" or \"video\", or send its hash",
        )
    }
}

impl From<ApiError> for HmaError {
    fn from(error: ApiError) -> HmaError {
        HmaError {
            retry_after: error.retry_after,
            ..HmaError::new(error.status, error.message)
        }
    }
}

/// HMA's refusal as the API's, for the console, which acts through HMA's exchange routes:
/// the same status and message.
impl From<HmaError> for ApiError {
    fn from(error: HmaError) -> ApiError {
        let code = match error.status {
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => "bad_request",
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::CONFLICT => "conflict",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            _ => "internal",
        };
        ApiError {
            retry_after: error.retry_after,
            ..ApiError::new(error.status, code, error.message)
        }
    }
}

impl From<StoreError> for HmaError {
    fn from(error: StoreError) -> HmaError {
        HmaError::from(ApiError::from(error))
    }
}

impl IntoResponse for HmaError {
    fn into_response(self) -> Response {
        let message = if self.status.is_server_error() {
            tracing::error!(
                status = self.status.as_u16(),
                message = %self.message,
                "request failed"
            );
            self.status
                .canonical_reason()
                .unwrap_or("internal error")
                .to_string()
        } else {
            self.message
        };
        let body = self.body.unwrap_or_else(|| json!({ "message": message }));
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// The authenticated caller, refused in HMA's error shape.
pub(crate) struct HmaCaller(pub(crate) Caller);

impl FromRequestParts<SharedState> for HmaCaller {
    type Rejection = HmaError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<HmaCaller, HmaError> {
        // Without a key, a network granted a role (`--hma-network-role`) acts as its key.
        if super::auth::bearer(parts).is_none() {
            let peer = parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip());
            if let Some(key) = peer.and_then(|peer| state.networks.key_for(peer, parts.uri.path()))
            {
                return Ok(HmaCaller(Caller::of_key(&key)));
            }
        }
        Caller::from_request_parts(parts, state)
            .await
            .map(HmaCaller)
            .map_err(HmaError::from)
    }
}

/// The query string, read as HMA reads it.
pub(super) struct Params(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = HmaError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Params, HmaError> {
        Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map(|Query(params)| Params(params))
            .map_err(|e| HmaError::bad_request(e.body_text()))
    }
}

impl Params {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A parameter that is present and not empty (HMA tests such values for truth).
    pub(super) fn given(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// A parameter the route's query model requires: 422 when missing, as in HMA.
    fn require(&self, name: &str) -> HmaResult<&str> {
        self.get(name).ok_or_else(|| {
            let input: Map<String, Value> = self
                .0
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            HmaError::missing("query", name, Value::Object(input))
        })
    }

    /// A boolean as HMA's request models read one (`true`/`false`, `1`/`0`, `yes`/`no`, …);
    /// else 422 as the model refuses it.
    fn flag(&self, name: &str) -> HmaResult<bool> {
        match self.get(name) {
            Some(value) => model_bool("query", name, &Value::String(value.to_owned())),
            None => Ok(false),
        }
    }

    /// The `banks` restriction: comma-separated bank names.
    fn banks(&self) -> Option<HashSet<String>> {
        self.given("banks")
            .map(|banks| banks.split(',').map(str::to_string).collect())
    }
}

// Status.

/// How long the index may go without reading the store's feed to its end before `/status`
/// says it is stale (HMA's `INDEX_CACHE_MAX_STALE_SEC`).
pub(super) const INDEX_MAX_STALE_MS: i64 = 65_000;

/// `GET /status`: HMA's liveness answer, public: 503 `INDEX-NOT-LOADED` before the index is
/// loaded, 503 `INDEX-STALE` when it has not caught up with the store for over 65 seconds
/// (the store unreachable, say).
async fn status(State(state): State<SharedState>) -> (StatusCode, &'static str) {
    if !state.index.is_ready() {
        return (StatusCode::SERVICE_UNAVAILABLE, "INDEX-NOT-LOADED");
    }
    let behind = ward_store::Timestamp::now().0 - state.index.caught_up_at().0;
    if behind > INDEX_MAX_STALE_MS {
        (StatusCode::SERVICE_UNAVAILABLE, "INDEX-STALE")
    } else {
        (StatusCode::OK, "I-AM-ALIVE")
    }
}

/// `GET /status/live`: alive, whatever the index's state (for liveness probes).
async fn status_live() -> &'static str {
    "I-AM-ALIVE"
}

/// `GET /c/content_type`: the content types hashed (always both, as in HMA).
async fn content_types(HmaCaller(_caller): HmaCaller) -> Json<Value> {
    Json(json!([{"name": "photo", "enabled": true}, {"name": "video", "enabled": true}]))
}

// Hashing.

/// `GET /h/hash?url=`: the signals of what the URL serves (fetched under the SSRF guard).
async fn hash_url(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    params: Params,
) -> HmaResult<Json<Value>> {
    caller.require(MATCHERS)?;
    let url = params.require("url")?;
    let upload = fetch_upload(&state, url, params.get("content_type")).await?;
    let hashed = hash(&state, upload, params.get("types"), false).await?;
    Ok(Json(hashed.texts()))
}

/// What a URL serves, as an upload: fetched through the safe fetcher (public addresses
/// only, redirects checked, HMA's size limit), its content type from `content_type` or
/// else from what the server says it is (`image/…`, `video/…`).
pub(super) async fn fetch_upload(
    state: &SharedState,
    url: &str,
    content_type: Option<&str>,
) -> HmaResult<Upload> {
    let Some(config) = &state.config.hma_fetch else {
        return Err(HmaError::no_fetch());
    };
    let kind = match content_type.filter(|c| !c.is_empty()) {
        Some(name) => Some(
            Kind::from_field(name)
                .ok_or_else(|| HmaError::bad_request(format!("no such content_type: '{name}'")))?,
        ),
        None => None,
    };
    let mut held = state.hashing.empty();
    let fetcher = crate::fetch::Fetcher::new(config.clone());
    let fetched = match fetcher.fetch_into(url, &mut held).await {
        Ok(fetched) => fetched,
        Err(error) if error.is_refusal() => {
            return Err(HmaError::bad_request("Invalid or unsafe URL provided"));
        }
        Err(crate::fetch::FetchError::TooLarge(_) | crate::fetch::FetchError::NoRoom(_)) => {
            return Err(HmaError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Content too large",
            ));
        }
        Err(error) => {
            return Err(HmaError::bad_request(format!(
                "Failed to fetch URL: {error}"
            )));
        }
    };
    if !(200..300).contains(&fetched.status) {
        return Err(HmaError::bad_request(format!(
            "Failed to fetch URL: HTTP {}",
            fetched.status
        )));
    }
    let kind = match kind {
        Some(kind) => kind,
        None => {
            let served = fetched.content_type.as_deref().unwrap_or_default();
            let lower = served.to_ascii_lowercase();
            if lower.starts_with("image") {
                Kind::Photo
            } else if lower.starts_with("video") {
                Kind::Video
            } else {
                return Err(HmaError::bad_request(format!(
                    "unsupported url ContentType {served:?}: give content_type=photo or video"
                )));
            }
        }
    };
    Ok(Upload {
        kind,
        bytes: Bytes::from(fetched.body),
        held,
    })
}

/// `POST /h/hash`: the signals of one uploaded file, by HMA signal type.
async fn hash_upload(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    params: Params,
    request: Request,
) -> HmaResult<Json<Value>> {
    caller.require(MATCHERS)?;
    let missing = "Missing multipart/form-data file upload";
    let upload = read_upload(request, &state, missing, &mut Vec::new()).await?;
    let hashed = hash(&state, upload, params.get("types"), false).await?;
    Ok(Json(hashed.texts()))
}

/// HMA's content types: the name of the multipart part says which the file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Photo,
    Video,
}

impl Kind {
    fn from_field(name: &str) -> Option<Kind> {
        match name {
            "photo" => Some(Kind::Photo),
            "video" => Some(Kind::Video),
            _ => None,
        }
    }

    /// HMA's signal types for the content type, in its order.
    fn signal_types(self) -> &'static [&'static str] {
        match self {
            Kind::Photo => &["pdq"],
            Kind::Video => &["video_md5", "vpdq"],
        }
    }
}

/// The one file of an HMA upload, with the memory reserved for it.
pub(super) struct Upload {
    kind: Kind,
    bytes: Bytes,
    held: Reservation,
}

/// Reads the multipart body: exactly one file, in a part named for its content type, within
/// the node's upload limit and hashing budget.
pub(super) async fn read_upload(
    request: Request,
    state: &SharedState,
    missing: &str,
    fields: &mut Vec<(String, String)>,
) -> HmaResult<Upload> {
    let is_multipart = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(HmaError::bad_request(missing));
    }
    let mut upload = budget::Upload::open(
        request,
        state,
        &state.hashing,
        state.config.body_limit as u64,
    )
    .await?;
    // As HMA (Flask) counts files: parts with a file name; plain form fields are ignored.
    let is_file = |name: Option<&str>, file_name: Option<&str>| {
        file_name.is_some() || Kind::from_field(name.unwrap_or_default()).is_some()
    };
    let (first, files) = upload
        .first_file_and_fields(is_file, true, &["metadata", "note"], fields)
        .await?;
    if files > 1 {
        return Err(HmaError::bad_request("Only one file allowed per request"));
    }
    let (name, bytes) = first.ok_or_else(|| HmaError::bad_request(missing))?;
    let kind = Kind::from_field(&name)
        .ok_or_else(|| HmaError::bad_request(format!("no such content_type: '{name}'")))?;
    Ok(Upload {
        kind,
        bytes: Bytes::from(bytes),
        held: upload.into_reservation(),
    })
}

/// One signal of an upload, as HMA names and prints it.
pub(super) struct HmaSignal {
    pub(super) name: &'static str,
    /// HMA's text: the hash, a vPDQ's JSON, or empty for a PDQ hash below quality 50.
    text: String,
    /// The signal, unless it is a PDQ hash below quality 50 (not matched, not banked).
    pub(super) signal: Option<Signal>,
    pub(super) quality: Option<Quality>,
}

/// What an upload hashed to, in the order of `?types=` (or HMA's).
pub(super) struct Hashed {
    pub(super) signals: Vec<HmaSignal>,
    /// A video's frames hashed inside their bars, for matching only.
    trimmed: Option<Vpdq>,
}

impl Hashed {
    /// `{"pdq": "…"}`: HMA's answer of `/h/hash`.
    fn texts(&self) -> Value {
        let out: Map<String, Value> = self
            .signals
            .iter()
            .map(|s| (s.name.to_string(), Value::String(s.text.clone())))
            .collect();
        Value::Object(out)
    }
}

/// Hashes an upload through `hash_bytes` (the service's one place for CPU work on media).
pub(super) async fn hash(
    state: &SharedState,
    upload: Upload,
    types: Option<&str>,
    trim_bars: bool,
) -> HmaResult<Hashed> {
    let wanted = selected_types(upload.kind, types)?;
    // The part's name says what the file is; its first bytes must agree, so that an image is
    // never sent to FFmpeg nor a video to the image decoder by a mislabelled part.
    let is_video = video::sniff(&upload.bytes).is_some();
    if upload.kind == Kind::Photo && is_video {
        return Err(HmaError::bad_request(
            "the file in part \"photo\" is a video: send it in a part named \"video\"",
        ));
    }
    let md5_only = |bytes: &[u8]| {
        // HMA's video MD5 is the file's, whatever the file: a file in the part "video"
        // that is no video Ward decodes still has it, and no vPDQ.
        let md5 = FileDigests::of(bytes).md5;
        let signals = vec![HmaSignal {
            name: "video_md5",
            text: md5.to_string(),
            signal: Some(Signal::Md5(md5)),
            quality: None,
        }];
        Hashed {
            signals: signals
                .into_iter()
                .filter(|s| wanted.contains(&s.name))
                .collect(),
            trimmed: None,
        }
    };
    if upload.kind == Kind::Video && !is_video {
        // Never handed to FFmpeg: only its bytes are digested.
        return Ok(md5_only(&upload.bytes));
    }
    let mut options = state.config.video.clone();
    options.trim_bars = trim_bars;
    let mut held = upload.held;
    let bytes = upload.bytes.clone();
    let hashed = match hash_bytes(upload.bytes, &mut held, options, Patience::Request).await {
        Ok(hashed) => hashed,
        // A video that does not decode (or not in time): its MD5 still identifies it.
        Err(error)
            if upload.kind == Kind::Video && error.status == StatusCode::UNPROCESSABLE_ENTITY =>
        {
            tracing::debug!(%error.message, "a video hashed by its MD5 only");
            return Ok(md5_only(&bytes));
        }
        Err(error) => return Err(error.into()),
    };
    drop((held, bytes));
    let (mut signals, trimmed) = match hashed.kind {
        MediaKind::Image { pdq, quality } => {
            let matchable = quality >= Quality::MATCHABLE;
            let pdq = HmaSignal {
                name: "pdq",
                // HMA's PDQ hasher gives an empty hash below quality 50.
                text: if matchable {
                    pdq.to_string()
                } else {
                    String::new()
                },
                signal: matchable.then_some(Signal::Pdq(pdq)),
                quality: Some(quality),
            };
            (vec![pdq], None)
        }
        MediaKind::Video { vpdq, trimmed } => {
            let md5 = HmaSignal {
                name: "video_md5",
                text: hashed.digests.md5.to_string(),
                signal: Some(Signal::Md5(hashed.digests.md5)),
                quality: None,
            };
            let vpdq = HmaSignal {
                name: "vpdq",
                text: vpdq.to_json(),
                signal: Some(Signal::Vpdq(vpdq)),
                quality: None,
            };
            (vec![md5, vpdq], trimmed)
        }
    };
    signals.retain(|s| wanted.contains(&s.name));
    signals.sort_by_key(|s| wanted.iter().position(|w| *w == s.name));
    Ok(Hashed { signals, trimmed })
}

/// The signal types `?types=` asks for (comma-separated), checked as HMA checks them.
fn selected_types(kind: Kind, types: Option<&str>) -> HmaResult<Vec<&'static str>> {
    let known = kind.signal_types();
    let Some(types) = types else {
        return Ok(known.to_vec());
    };
    let mut wanted = Vec::new();
    for name in types.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(&found) = known.iter().find(|k| **k == name) else {
            return Err(HmaError::bad_request(format!(
                "signal type '{name}' doesn't exist or is disabled"
            )));
        };
        if !wanted.contains(&found) {
            wanted.push(found);
        }
    }
    if wanted.is_empty() {
        return Err(HmaError::bad_request("empty signal type selection"));
    }
    Ok(wanted)
}

// Matching.

/// A content item that a query matched, as HMA reports it.
#[derive(Debug)]
struct Found {
    bank: String,
    content: i64,
    distance: String,
}

/// Matches one query signal under Ward's bank rules (through `match_signals`, exactly as
/// `/v1/match`, with the lookup's coin flip `draw`), then in HMA's terms: one entry per
/// content item, ordered by id as HMA reads them from its database, and only in `banks`
/// when given.
async fn lookup(
    state: &SharedState,
    caller: &Caller,
    signal: Signal,
    trimmed: Option<&Vpdq>,
    banks: Option<&HashSet<BankId>>,
    draw: f64,
) -> HmaResult<Vec<Found>> {
    let answer = match_signals(state, caller, &[(signal, true)], trimmed, draw).await?;
    let mut found: Vec<Found> = Vec::new();
    // Matches come nearest first; the first of a content item's signals is kept.
    for entry in &answer.matches {
        let (bank, content) = (entry.bank.name.as_str(), entry.content.id.0);
        if banks.is_some_and(|banks| !banks.contains(&entry.bank.id))
            || found.iter().any(|f| f.content == content)
        {
            continue;
        }
        found.push(Found {
            bank: bank.to_string(),
            content,
            distance: distance_text(entry),
        });
    }
    found.sort_by_key(|f| f.content);
    Ok(found)
}

/// HMA's similarity text: a PDQ distance as a string, a vPDQ's two shares as
/// `query%[compared%]`, `-` for the exact-match types.
fn distance_text(entry: &MatchEntry) -> String {
    match (entry.hit.signal_type, entry.hit.distance, entry.shares()) {
        (SignalType::Pdq, Some(distance), _) => distance.to_string(),
        (SignalType::Vpdq, _, Some((query, compared))) => format!("{query:.0}%[{compared:.0}%]"),
        _ => NO_DISTANCE.to_string(),
    }
}

/// `{"BANK": [{"bank_content_id": 1, "distance": "0"}]}`.
fn by_bank(found: &[Found]) -> Value {
    let mut out = Map::new();
    for f in found {
        let entry = out
            .entry(f.bank.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(json!({"bank_content_id": f.content, "distance": f.distance}));
        }
    }
    Value::Object(out)
}

/// A query's signal type and value, checked as HMA's lookups check them.
fn query_signal(signal_type: &str, value: &str) -> HmaResult<Signal> {
    let signal_type = SignalType::from_str(signal_type)
        .map_err(|_| HmaError::bad_request(format!("No such SignalType '{signal_type}'")))?;
    Signal::parse(signal_type, value.trim())
        .map_err(|e| HmaError::bad_request(format!("invalid signal: {e}")))
}

impl Params {
    /// The lookup's coin flip: `seed` (HMA's, drawn as CPython draws it) and
    /// `bypass_coinflip`.
    fn draw(&self) -> HmaResult<f64> {
        let bypass = self.flag("bypass_coinflip")?;
        super::coinflip::bounded_draw(self.get("seed"), bypass).map_err(HmaError::bad_request)
    }
}

/// `GET /m/lookup?signal_type=&signal=` (or `?url=`): the matching banks and content items.
/// HMA's GET takes `bypass_coinflip` and ignores it; Ward honours it, as HMA documents it.
async fn lookup_get(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    params: Params,
) -> HmaResult<Json<Value>> {
    caller.require(MATCHERS)?;
    if let Some(url) = params.given("url") {
        let upload = fetch_upload(&state, url, params.get("content_type")).await?;
        let by_type = lookup_upload(&state, &caller, &params, upload).await?;
        // With a signal type too, only that type's answer.
        if let Some(name) = params.given("signal_type") {
            return Ok(Json(
                by_type.get(name).cloned().unwrap_or_else(|| json!({})),
            ));
        }
        return Ok(Json(Value::Object(by_type)));
    }
    let (Some(signal), Some(signal_type)) = (params.given("signal"), params.given("signal_type"))
    else {
        return Err(HmaError::bad_request(
            "Either url or both signal and signal_type are required",
        ));
    };
    let draw = params.draw()?;
    let signal = query_signal(signal_type, signal)?;
    let banks = restriction(&state, &caller, params.banks()).await?;
    let found = lookup(&state, &caller, signal, None, banks.as_ref(), draw).await?;
    Ok(Json(by_bank(&found)))
}

/// `POST /m/lookup`: an uploaded file hashed and looked up, by signal type.
async fn lookup_post(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    params: Params,
    request: Request,
) -> HmaResult<Json<Value>> {
    caller.require(MATCHERS)?;
    params.draw()?;
    let missing = "Missing multipart/form-data file upload";
    let upload = read_upload(request, &state, missing, &mut Vec::new()).await?;
    Ok(Json(Value::Object(
        lookup_upload(&state, &caller, &params, upload).await?,
    )))
}

/// An upload hashed and each of its signals looked up: `{"pdq": {"BANK": [...]}}`. Each
/// signal type draws its own coin flip, as HMA's do (the same one when seeded).
async fn lookup_upload(
    state: &SharedState,
    caller: &Caller,
    params: &Params,
    upload: Upload,
) -> HmaResult<Map<String, Value>> {
    let hashed = hash(state, upload, params.get("types"), true).await?;
    let banks = restriction(state, caller, params.banks()).await?;
    let mut out = Map::new();
    for signal in hashed.signals {
        let found = match signal.signal {
            // A PDQ hash below quality 50 is not matched (HMA refuses its empty hash).
            None => Vec::new(),
            Some(query) => {
                let trimmed = match query {
                    Signal::Vpdq(_) => hashed.trimmed.as_ref(),
                    _ => None,
                };
                let draw = params.draw()?;
                lookup(state, caller, query, trimmed, banks.as_ref(), draw).await?
            }
        };
        out.insert(signal.name.to_string(), by_bank(&found));
    }
    Ok(out)
}

/// `GET /m/raw_lookup?signal_type=&signal=`: the matching content ids.
async fn raw_lookup(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    params: Params,
) -> HmaResult<Json<Value>> {
    caller.require(MATCHERS)?;
    let signal = params.require("signal")?;
    let signal_type = params.require("signal_type")?;
    let include_distance = params.flag("include_distance")?;
    let signal = query_signal(signal_type, signal)?;
    let banks = restriction(&state, &caller, params.banks()).await?;
    // As in HMA, the raw lookup ignores the banks' enabled ratios (Ward's other rules hold).
    let found = lookup(&state, &caller, signal, None, banks.as_ref(), 0.0).await?;
    let matches: Vec<Value> = found
        .iter()
        .map(|f| {
            if include_distance {
                json!({"bank_content_id": f.content, "distance": f.distance})
            } else {
                json!(f.content)
            }
        })
        .collect();
    Ok(Json(json!({ "matches": matches })))
}

/// `POST /m/compare`: pairs of hashes by signal type, compared as HMA's signal types
/// compare them: PDQ within 31 bits with the distance, digests for equality, vPDQ by the
/// two shares (80% of the first video's distinct frames).
async fn compare(HmaCaller(caller): HmaCaller, body: Bytes) -> HmaResult<Json<Value>> {
    caller.require(MATCHERS)?;
    let Ok(Value::Object(pairs)) = serde_json::from_slice::<Value>(&body) else {
        return Err(HmaError::bad_request("Request input was not a dict"));
    };
    let mut out = Map::new();
    for (name, pair) in &pairs {
        let Value::Array(pair) = pair else {
            return Err(HmaError::bad_request(format!(
                "Comparison hashes for {name} was not a list"
            )));
        };
        if pair.len() != 2 {
            return Err(HmaError::bad_request(
                "Comparison hash list length must be exactly 2",
            ));
        }
        let signal_type = SignalType::from_str(name)
            .map_err(|_| HmaError::bad_request(format!("No such SignalType '{name}'")))?;
        let invalid =
            |reason: String| HmaError::bad_request(format!("Invalid {name} hash: {reason}"));
        let parse = |value: &Value| -> HmaResult<Signal> {
            let text = value
                .as_str()
                .ok_or_else(|| invalid("not a string".into()))?;
            Signal::parse(signal_type, text.trim()).map_err(|e| invalid(e.to_string()))
        };
        let result = match (parse(&pair[0])?, parse(&pair[1])?) {
            (Signal::Pdq(a), Signal::Pdq(b)) => {
                let distance = a.distance(&b);
                json!([distance <= COMPARE_PDQ_DISTANCE, {"distance": distance}])
            }
            (Signal::Vpdq(a), Signal::Vpdq(b)) => {
                let options = CompareOptions::default();
                let shares = video::compare(&a, &b, &options);
                json!([
                    shares.is_match(&options),
                    {
                        "query_match_percent": shares.query_share,
                        "compared_match_percent": shares.compared_share,
                    }
                ])
            }
            (a, b) => json!([a == b, {}]),
        };
        out.insert(name.clone(), result);
    }
    Ok(Json(Value::Object(out)))
}

// Curation.

/// A bank as HMA prints it.
pub(super) fn bank_json(bank: &Bank) -> Value {
    json!({
        "name": bank.name,
        "matching_enabled_ratio": if bank.enabled { bank.enabled_ratio.get() } else { 0.0 },
    })
}

/// HMA's bank names: upper case, digits and underscores, not starting with a digit.
pub(super) fn check_bank_name(name: &str) -> HmaResult<()> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
        Ok(())
    } else {
        Err(HmaError::bad_request(
            "Bank names must be UPPER_WITH_UNDERSCORE",
        ))
    }
}

/// The bank a name means to the caller, among those it sees: its organisation's, else the
/// one other it sees (see `auth::Member::bank_named`).
pub(super) async fn visible_bank(
    state: &SharedState,
    caller: &Caller,
    name: &str,
) -> HmaResult<Option<Bank>> {
    let named = state.store.banks_named(name).await?;
    caller
        .member()
        .bank_named(named)
        .map_err(|error| HmaError::ambiguous(&error))
}

/// The banks a `banks=A,B` restriction means to the caller (a name that means none of the
/// banks it sees restricts to nothing more).
async fn restriction(
    state: &SharedState,
    caller: &Caller,
    names: Option<HashSet<String>>,
) -> HmaResult<Option<HashSet<BankId>>> {
    let Some(names) = names else {
        return Ok(None);
    };
    let mut banks = HashSet::new();
    for name in &names {
        if let Some(bank) = visible_bank(state, caller, name).await? {
            banks.insert(bank.id);
        }
    }
    Ok(Some(banks))
}

/// A bank the caller may change, else 403 or 404 (with HMA's message for an unknown bank).
pub(super) async fn managed_bank(
    state: &SharedState,
    caller: &Caller,
    name: &str,
    missing: impl FnOnce() -> String,
) -> HmaResult<Bank> {
    caller.require(&[Role::Curator])?;
    let bank = visible_bank(state, caller, name)
        .await?
        .ok_or_else(|| HmaError::not_found(missing()))?;
    if !caller.manages(&bank) {
        return Err(HmaError::forbidden(
            "only the owning organisation's curators change a bank",
        ));
    }
    Ok(bank)
}

pub(super) fn unknown_bank(name: &str) -> impl FnOnce() -> String + '_ {
    move || format!("bank '{name}' not found")
}

/// A JSON object body.
pub(super) fn json_object(body: &[u8]) -> HmaResult<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(HmaError::bad_request(
            "this endpoint expects a json object payload",
        )),
    }
}

/// An enabled ratio (a number, or a number in a string, as HMA converts it), from 0 to 1.
/// HMA stores any number; Ward refuses one outside 0 to 1 (below 0 would keep a bank out
/// even of bypassed lookups, above 1 means 1).
pub(super) fn ratio(value: &Value) -> HmaResult<Ratio> {
    let parsed = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let parsed = parsed
        .filter(|r| r.is_finite())
        .ok_or_else(|| HmaError::bad_request(format!("Invalid float: '{value}'")))?;
    Ratio::new(parsed).map_err(|e| HmaError::bad_request(e.to_string()))
}

/// A boolean (`true`, or a string HMA reads as one).
pub(super) fn boolean(value: &Value) -> HmaResult<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if matches!(s.to_ascii_lowercase().as_str(), "true" | "1") => Ok(true),
        Value::String(s) if matches!(s.to_ascii_lowercase().as_str(), "false" | "0") => Ok(false),
        _ => Err(HmaError::bad_request(
            "invalid boolean parameter - prefer true/false",
        )),
    }
}

/// A boolean a route's declared model reads, as pydantic's lax mode does: `true`/`false`,
/// 0 and 1, and the strings `true`, `false`, `1`, `0`, `yes`, `no`, `on`, `off`, `t`, `f`,
/// `y`, `n` in any case; else 422 with pydantic's failure.
pub(super) fn model_bool(location: &str, field: &str, value: &Value) -> HmaResult<bool> {
    let parsing = || {
        HmaError::invalid(
            location,
            field,
            "bool_parsing",
            "Input should be a valid boolean, unable to interpret input",
            value.clone(),
        )
    };
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => match n.as_f64() {
            Some(0.0) => Ok(false),
            Some(1.0) => Ok(true),
            _ => Err(parsing()),
        },
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "t" | "y" | "yes" | "on" => Ok(true),
            "false" | "0" | "f" | "n" | "no" | "off" => Ok(false),
            _ => Err(parsing()),
        },
        _ => Err(HmaError::invalid(
            location,
            field,
            "bool_type",
            "Input should be a valid boolean",
            value.clone(),
        )),
    }
}

/// A number a route's declared model reads, as pydantic's lax mode does (a number, a
/// number in a string, a boolean as 0 or 1); else 422 with pydantic's failure.
fn model_float(location: &str, field: &str, value: &Value) -> HmaResult<f64> {
    match value {
        Value::Number(n) => Ok(n.as_f64().unwrap_or(f64::NAN)),
        Value::Bool(b) => Ok(f64::from(u8::from(*b))),
        Value::String(s) => s.trim().parse::<f64>().map_err(|_| {
            HmaError::invalid(
                location,
                field,
                "float_parsing",
                "Input should be a valid number, unable to parse string as a number",
                value.clone(),
            )
        }),
        _ => Err(HmaError::invalid(
            location,
            field,
            "float_type",
            "Input should be a valid number",
            value.clone(),
        )),
    }
}

/// The enabled ratio a bank's request sets: `enabled_ratio` wins over `enabled` (1 or 0),
/// as in HMA, both read as HMA's declared model reads them (422 for a wrong type). Through
/// HMA's routes a bank is always enabled in Ward's sense, and its ratio says in which share
/// of lookups it takes part. A ratio outside 0 to 1 is refused (400), where HMA keeps it.
fn ratio_from(body: &Map<String, Value>) -> HmaResult<Option<Ratio>> {
    match (body.get("enabled_ratio"), body.get("enabled")) {
        (Some(r), _) if !r.is_null() => {
            let given = model_float("body", "enabled_ratio", r)?;
            Ok(Some(
                Ratio::new(given).map_err(|e| HmaError::bad_request(e.to_string()))?,
            ))
        }
        (_, Some(e)) if !e.is_null() => Ok(Some(if model_bool("body", "enabled", e)? {
            Ratio::ONE
        } else {
            Ratio::ZERO
        })),
        _ => Ok(None),
    }
}

/// A name in a request body, checked as HMA checks bank names.
fn name_from(body: &Map<String, Value>) -> HmaResult<Option<String>> {
    match body.get("name") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(name)) => {
            check_bank_name(name)?;
            Ok(Some(name.clone()))
        }
        Some(_) => Err(HmaError::bad_request(
            "Bank names must be UPPER_WITH_UNDERSCORE",
        )),
    }
}

/// `GET /c/banks`: the banks the caller sees.
async fn list_banks(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
) -> HmaResult<Json<Value>> {
    let banks: Vec<Value> = state
        .store
        .banks()
        .await?
        .iter()
        .filter(|bank| caller.sees(bank))
        .map(bank_json)
        .collect();
    Ok(Json(Value::Array(banks)))
}

/// `POST /c/banks`: a new bank of the caller's organisation.
async fn create_bank(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    body: Bytes,
) -> HmaResult<(StatusCode, Json<Value>)> {
    caller.require(&[Role::Curator])?;
    let body = json_object(&body)?;
    let name = name_from(&body)?
        .ok_or_else(|| HmaError::missing("body", "name", Value::Object(body.clone())))?;
    // HMA's `{"enabled": false}` makes an enabled bank (its ratio defaults to 1 before
    // `enabled` is read); Ward reads `enabled` as it reads it on an update.
    let ratio = ratio_from(&body)?.unwrap_or(Ratio::ONE);
    let bank = new_bank(name, &caller, true);
    let mut bank = match state.store.create_bank(&caller.actor(), &bank).await {
        Err(StoreError::Conflict(_)) => {
            return Err(HmaError::forbidden("Bank already exists"));
        }
        other => other?,
    };
    if ratio != Ratio::ONE {
        let update = BankUpdate {
            enabled_ratio: Some(ratio),
            ..BankUpdate::default()
        };
        bank = state
            .store
            .update_bank(&caller.actor(), bank.id, &update)
            .await?;
    }
    state.caught_up().await;
    Ok((StatusCode::CREATED, Json(bank_json(&bank))))
}

/// A bank made through HMA's routes: `standard`, private to the caller's organisation,
/// distance 31.
pub(super) fn new_bank(name: String, caller: &Caller, enabled: bool) -> NewBank {
    NewBank {
        name,
        org: caller.org(),
        kind: BankKind::Standard,
        distance: 31,
        enabled,
        sharing: Sharing::Private,
        shared_with: Vec::new(),
        dispute_limit: None,
        description: String::new(),
    }
}

/// `GET /c/bank/{name}`.
async fn get_bank(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    Path(name): Path<String>,
) -> HmaResult<Json<Value>> {
    let bank = visible_bank(&state, &caller, &name)
        .await?
        .ok_or_else(|| HmaError::not_found(unknown_bank(&name)()))?;
    Ok(Json(bank_json(&bank)))
}

/// `PUT /c/bank/{name}`: rename, enable or disable.
async fn update_bank(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    Path(name): Path<String>,
    body: Bytes,
) -> HmaResult<Json<Value>> {
    let bank = managed_bank(&state, &caller, &name, || "Bank not found".to_string()).await?;
    let body = json_object(&body)?;
    let ratio = ratio_from(&body)?;
    let update = BankUpdate {
        name: name_from(&body)?,
        enabled: ratio.map(|_| true),
        enabled_ratio: ratio,
        ..BankUpdate::default()
    };
    let bank = match state
        .store
        .update_bank(&caller.actor(), bank.id, &update)
        .await
    {
        Err(StoreError::Conflict(_)) => {
            return Err(HmaError::forbidden("Bank name already exists"));
        }
        other => other?,
    };
    state.caught_up().await;
    Ok(Json(bank_json(&bank)))
}

/// `DELETE /c/bank/{name}`: deleting a bank that does not exist succeeds, as in HMA.
async fn delete_bank(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    Path(name): Path<String>,
) -> HmaResult<Json<Value>> {
    caller.require(&[Role::Curator])?;
    if let Some(bank) = visible_bank(&state, &caller, &name).await? {
        if !caller.manages(&bank) {
            return Err(HmaError::forbidden(
                "only the owning organisation's curators change a bank",
            ));
        }
        state.store.delete_bank(&caller.actor(), bank.id).await?;
        state.caught_up().await;
    }
    Ok(Json(json!({"message": "Done"})))
}
