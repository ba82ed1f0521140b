//! HMA's bank content as a resource: content added by upload, by URL or by its signals (with
//! a note and the client's metadata), read, changed (`disable_until_ts`, the note) and
//! deleted, on Ward's content items.
//!
//! - `POST /c/bank/{name}/content` (one file in a part named `photo` or `video`, or
//!   `?url=`), `POST /c/bank/{name}/signal` `{"pdq": "…", "note": "…"}` →
//!   `{"id": 1, "signals": {"pdq": "…"}}`.
//! - `GET /c/bank/{name}/content/{id}` (`include_signals`, `include_metadata`) →
//!   `{"id", "disable_until_ts", "original_media_uri", "bank", "signals"?, "metadata"?,
//!   "note"?}`.
//! - `PUT /c/bank/{name}/content/{id}` `{"disable_until_ts": 0, "note": "…"}` → the item's
//!   stored settings; `DELETE` → `{"deleted": 1}` (0 when the bank holds no such item).
//!
//! Where Ward differs from HMA, deliberately:
//!
//! - HMA finds an item by its id alone, whatever bank the path names, so an id from another
//!   bank is read, changed or deleted through any bank's path. Ward answers 404 unless the
//!   named bank holds the item: a bank's path reaches only its own content.
//! - `disable_until_ts` is HMA's: 1 enabled, 0 disabled, a later time disabled until then.
//!   Ward keeps the item's enabled flag (the one `/v1` and the analyst's pages change) and
//!   the time; the node's keeper enables the item when its time comes
//!   ([`enable_due_content`], within a few seconds), through the feed like any other change.
//! - Reading content takes a curator's or an analyst's key (as `/v1/content/{id}` does) and
//!   is logged as a read; changing it is for the curators of the bank's organisation.

use std::str::FromStr;

use axum::extract::{Path, Request, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{Map, Value, json};
use ward_core::lists::SignalType;
use ward_core::pdq::Quality;
use ward_store::{
    Actor, Bank, Content, ContentId, ContentNotes, NewContent, SignalKind, Store, Timestamp,
};

use super::SharedState;
use super::api::{READERS, store_signal, stored_signal};
use super::auth::Caller;
use super::hma::{
    HmaCaller, HmaError, HmaResult, Params, bank_json, fetch_upload, hash, json_object,
    managed_bank, read_upload, unknown_bank, uploads, visible_bank,
};

/// The latest `disable_until_ts` HMA accepts: five years from now.
const DISABLE_HORIZON_S: i64 = 5 * 365 * 24 * 3600;
/// How many due items one pass of [`enable_due_content`] enables.
const DUE_BATCH: u32 = 500;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/c/bank/{name}/content", post(add_content).layer(uploads()))
        .route("/c/bank/{name}/signal", post(add_signals))
        .route(
            "/c/bank/{name}/content/{id}",
            get(get_content).put(update_content).delete(delete_content),
        )
}

/// HMA's name of a stored signal type.
fn hma_name(kind: SignalKind) -> &'static str {
    match kind {
        SignalKind::Pdq => "pdq",
        SignalKind::Md5 => "video_md5",
        SignalKind::Vpdq => "vpdq",
        SignalKind::Sha1 => "sha1",
        SignalKind::Sha256 => "sha256",
        SignalKind::Photodna => "photodna",
    }
}

/// The note and metadata a request adds with its content, checked as HMA checks them.
#[derive(Debug, Default)]
struct Annotation {
    note: Option<String>,
    metadata: Option<String>,
}

/// A note: a string of at most 255 characters; empty or null is no note.
fn note_from(value: Option<&Value>) -> HmaResult<Option<String>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(note)) if note.is_empty() => Ok(None),
        Some(Value::String(note)) => {
            if note.chars().count() > ward_store::rules::CONTENT_NOTE_MAX {
                return Err(HmaError::bad_request(format!(
                    "note must be at most {} characters",
                    ward_store::rules::CONTENT_NOTE_MAX
                )));
            }
            Ok(Some(note.clone()))
        }
        Some(_) => Err(HmaError::bad_request("note should be a string")),
    }
}

/// HMA's content metadata: exactly `content_id` and `content_uri` (strings) and `json` (an
/// object); a `collab` key is HMA's own and is dropped; anything else is refused.
fn metadata_from(value: Option<&Value>) -> HmaResult<Option<String>> {
    let object = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(object)) => object,
        Some(_) => return Err(HmaError::bad_request("metadata should be a json object")),
    };
    let mut kept = Map::new();
    for (key, value) in object {
        let ok = match key.as_str() {
            "content_id" | "content_uri" => value.is_string() || value.is_null(),
            "json" => value.is_object() || value.is_null(),
            "collab" => continue,
            _ => {
                return Err(HmaError::bad_request(format!(
                    "Invalid metadata: unknown field '{key}' (content_id, content_uri, json)"
                )));
            }
        };
        if !ok {
            return Err(HmaError::bad_request(format!(
                "Invalid metadata: '{key}' must be {}",
                if key == "json" {
                    "an object"
                } else {
                    "a string"
                }
            )));
        }
        if !value.is_null() {
            kept.insert(key.clone(), value.clone());
        }
    }
    if kept.is_empty() {
        return Ok(None);
    }
    let text = Value::Object(kept).to_string();
    if text.len() > ward_store::rules::CONTENT_METADATA_MAX {
        return Err(HmaError::bad_request(format!(
            "Invalid metadata: more than {} bytes",
            ward_store::rules::CONTENT_METADATA_MAX
        )));
    }
    Ok(Some(text))
}

/// Adds one content item with `signals` (HMA name, stored signal) to `bank`, with its note
/// and metadata; answers as HMA.
async fn add_item(
    state: &SharedState,
    caller: &Caller,
    bank: &Bank,
    signals: Vec<(String, ward_store::Signal)>,
    annotation: Annotation,
) -> HmaResult<Json<Value>> {
    let item = NewContent {
        signals: signals.iter().map(|(_, s)| s.clone()).collect(),
        assessment: None,
        source: "hma".into(),
        ..NewContent::default()
    };
    let actor = caller.actor();
    let ids = state
        .store
        .add_content(&actor, bank.id, std::slice::from_ref(&item))
        .await?;
    let notes = ContentNotes {
        note: annotation.note,
        metadata: annotation.metadata,
        disabled_until: None,
    };
    if !notes.is_empty() {
        state
            .store
            .set_content_notes(&actor, ids[0], &notes)
            .await?;
    }
    state.caught_up().await;
    let echoed: Map<String, Value> = signals
        .into_iter()
        .map(|(name, signal)| (name, Value::String(signal.value)))
        .collect();
    Ok(Json(json!({"id": ids[0], "signals": echoed})))
}

/// `POST /c/bank/{name}/content`: an uploaded file (or what `?url=` serves) hashed and banked
/// as one content item; `metadata` (JSON) and `note` as form fields, or in a JSON body with
/// `?url=`.
async fn add_content(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    Path(name): Path<String>,
    params: Params,
    request: Request,
) -> HmaResult<Json<Value>> {
    let bank = managed_bank(&state, &caller, &name, unknown_bank(&name)).await?;
    let (upload, annotation) = if let Some(url) = params.given("url") {
        let annotation = json_annotation(request, &state).await?;
        (
            fetch_upload(&state, url, params.get("content_type")).await?,
            annotation,
        )
    } else {
        let missing = "Neither `url` nor multipart file upload was received";
        let mut fields = Vec::new();
        let upload = read_upload(request, &state, missing, &mut fields).await?;
        let field = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let metadata = match field("metadata") {
            None => None,
            Some(text) => {
                let value: Value = serde_json::from_str(&text)
                    .map_err(|_| HmaError::bad_request("metadata form field must be valid JSON"))?;
                metadata_from(Some(&value))?
            }
        };
        let note = note_from(field("note").map(Value::String).as_ref())?;
        (upload, Annotation { note, metadata })
    };
    let hashed = hash(&state, upload, params.get("types"), false).await?;
    let mut signals = Vec::new();
    for s in hashed.signals {
        let Some(signal) = s.signal else {
            let quality = s.quality.map_or(0, Quality::get);
            return Err(HmaError::bad_request(format!(
                "Invalid {} signal: the picture's PDQ quality {quality} is below 50, too \
                 little detail to match reliably",
                s.name
            )));
        };
        signals.push((s.name.to_string(), store_signal(&signal)));
    }
    if signals.is_empty() {
        return Err(HmaError::bad_request("No signals given"));
    }
    add_item(&state, &caller, &bank, signals, annotation).await
}

/// The note and metadata of a `?url=` request's JSON body (none when it has no body).
async fn json_annotation(request: Request, state: &SharedState) -> HmaResult<Annotation> {
    let limit = state.config.json_limit;
    let body = axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| {
            HmaError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("a body of more than {limit} bytes"),
            )
        })?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Annotation::default());
    }
    let body = json_object(&body)?;
    Ok(Annotation {
        note: note_from(body.get("note"))?,
        metadata: metadata_from(body.get("metadata"))?,
    })
}

/// `POST /c/bank/{name}/signal`: `{"pdq": "…", …, "note": "…"}` banked as one content item.
async fn add_signals(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    Path(name): Path<String>,
    body: Bytes,
) -> HmaResult<Json<Value>> {
    let bank = managed_bank(&state, &caller, &name, unknown_bank(&name)).await?;
    let mut body = json_object(&body)?;
    let annotation = Annotation {
        note: note_from(body.remove("note").as_ref())?,
        metadata: metadata_from(body.remove("metadata").as_ref())?,
    };
    if body.is_empty() {
        return Err(HmaError::bad_request("No signals given"));
    }
    let mut signals = Vec::new();
    for (signal_type, value) in &body {
        let known = signal_type.trim().eq_ignore_ascii_case("photodna")
            || SignalType::from_str(signal_type).is_ok();
        if !known {
            return Err(HmaError::bad_request(format!(
                "No such signal type {signal_type}"
            )));
        }
        let invalid =
            |reason: &str| HmaError::bad_request(format!("Invalid {signal_type} signal: {reason}"));
        let value = value.as_str().ok_or_else(|| invalid("not a string"))?;
        let signal = stored_signal(signal_type, value).map_err(|e| invalid(&e.message))?;
        signals.push((signal_type.clone(), signal));
    }
    add_item(&state, &caller, &bank, signals, annotation).await
}

/// The item `id` of the bank a path names, if that bank holds it.
async fn bank_item(state: &SharedState, bank: &Bank, id: i64) -> HmaResult<Option<Content>> {
    Ok(state
        .store
        .content(ContentId(id))
        .await?
        .filter(|content| content.bank == bank.id))
}

/// HMA's `disable_until_ts` of an item: 1 enabled, 0 disabled, else disabled until then.
fn disable_until_ts(content: &Content, notes: &ContentNotes) -> i64 {
    match (content.enabled, notes.disabled_until) {
        (true, _) => 1,
        (false, Some(until)) => until.0 / 1000,
        (false, None) => 0,
    }
}

/// `{"<EXCHANGE>": ["<its id of the item>"]}` for an item an exchange brought, else null.
async fn collab(state: &SharedState, content: &Content) -> HmaResult<Value> {
    let Some(external) = &content.external_id else {
        return Ok(Value::Null);
    };
    let exchanges = state.store.exchanges().await?;
    Ok(exchanges
        .iter()
        .find(|e| e.bank == content.bank)
        .map_or(Value::Null, |e| json!({ e.name.clone(): [external] })))
}

/// The client's metadata as stored, as an object (empty when there is none).
fn user_metadata(notes: &ContentNotes) -> Map<String, Value> {
    notes
        .metadata
        .as_deref()
        .and_then(|text| serde_json::from_str::<Map<String, Value>>(text).ok())
        .unwrap_or_default()
}

/// `GET /c/bank/{name}/content/{id}`.
async fn get_content(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    Path((name, id)): Path<(String, i64)>,
    params: Params,
) -> HmaResult<Json<Value>> {
    caller.require(READERS)?;
    let include_signals = params.get("include_signals") == Some("true");
    let include_metadata = params.get("include_metadata").is_none_or(|v| v == "true");
    let bank = visible_bank(&state, &caller, &name)
        .await?
        .ok_or_else(|| HmaError::not_found(unknown_bank(&name)()))?;
    let content = bank_item(&state, &bank, id)
        .await?
        .ok_or_else(|| HmaError::not_found(format!("content '{id}' not found")))?;
    let notes = state.store.content_notes(content.id).await?;
    state
        .store
        .record_read(&caller.actor(), "read.content", &format!("content:{id}"))
        .await?;
    let mut out = json!({
        "id": content.id.0,
        "disable_until_ts": disable_until_ts(&content, &notes),
        "original_media_uri": Value::Null,
        "bank": bank_json(&bank),
    });
    if include_signals && !content.signals.is_empty() {
        let mut signals = Map::new();
        for signal in &content.signals {
            // HMA holds one value per signal type: the first.
            signals
                .entry(hma_name(signal.kind))
                .or_insert_with(|| Value::String(signal.value.clone()));
        }
        out["signals"] = Value::Object(signals);
    }
    let collab = collab(&state, &content).await?;
    if include_metadata && (notes.metadata.is_some() || !collab.is_null()) {
        let user = user_metadata(&notes);
        let field = |key: &str| user.get(key).cloned().unwrap_or(Value::Null);
        out["metadata"] = json!({
            "content_id": field("content_id"),
            "content_uri": field("content_uri"),
            "json": field("json"),
            "collab": collab,
        });
    }
    if let Some(note) = notes.note {
        out["note"] = Value::String(note);
    }
    Ok(Json(out))
}

/// A `disable_until_ts`: an integer, or an integer in a string, from 0 to five years ahead.
fn until_from(value: &Value, now_s: i64) -> HmaResult<i64> {
    let until = match value {
        Value::Number(n) => n.as_i64().ok_or_else(|| {
            HmaError::bad_request("disable_until_ts must be a non-negative integer")
        })?,
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| HmaError::bad_request(format!("Invalid int: '{s}'")))?,
        _ => {
            return Err(HmaError::bad_request(
                "disable_until_ts must be a non-negative integer",
            ));
        }
    };
    if until < 0 {
        return Err(HmaError::bad_request(
            "disable_until_ts must be a non-negative integer",
        ));
    }
    if until > now_s + DISABLE_HORIZON_S {
        return Err(HmaError::bad_request(
            "disable_until_ts must be less than 5 years in the future",
        ));
    }
    Ok(until)
}

/// `PUT /c/bank/{name}/content/{id}`: `disable_until_ts` and `note`.
async fn update_content(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    Path((name, id)): Path<(String, i64)>,
    body: Bytes,
) -> HmaResult<Json<Value>> {
    let bank = managed_bank(&state, &caller, &name, unknown_bank(&name)).await?;
    let body = json_object(&body)?;
    let content = bank_item(&state, &bank, id)
        .await?
        .ok_or_else(|| HmaError::not_found(format!("content '{id}' not found")))?;
    let now_s = Timestamp::now().0 / 1000;
    let until = match body.get("disable_until_ts") {
        None | Some(Value::Null) => None,
        Some(value) => Some(until_from(value, now_s)?),
    };
    let note = match body.get("note") {
        None => None,
        given => Some(note_from(given)?),
    };
    let actor = caller.actor();
    let mut notes = state.store.content_notes(content.id).await?;
    let mut enabled = content.enabled;
    if let Some(until) = until {
        // 1 and any time passed enable; 0 disables for good; a later time, until then.
        enabled = until != 0 && until <= now_s;
        notes.disabled_until = (until > now_s).then_some(Timestamp(until * 1000));
        if enabled != content.enabled {
            state
                .store
                .set_content_enabled(&actor, content.id, enabled)
                .await?;
        }
    }
    if let Some(note) = note {
        notes.note = note;
    }
    if until.is_some() || body.contains_key("note") {
        state
            .store
            .set_content_notes(&actor, content.id, &notes)
            .await?;
    }
    state.caught_up().await;
    let shown = Content { enabled, ..content };
    let collab = collab(&state, &shown).await?;
    Ok(Json(json!({
        "id": shown.id.0,
        "disable_until_ts": disable_until_ts(&shown, &notes),
        "collab_metadata": if collab.is_null() { json!({}) } else { collab },
        "original_media_uri": Value::Null,
        "bank": bank_json(&bank),
        "user_metadata": notes.metadata.as_ref().map(|_| Value::Object(user_metadata(&notes))),
        "note": notes.note,
    })))
}

/// `DELETE /c/bank/{name}/content/{id}`: `{"deleted": 1}`, or 0 when the bank holds no such
/// item.
async fn delete_content(
    State(state): State<SharedState>,
    HmaCaller(caller): HmaCaller,
    Path((name, id)): Path<(String, i64)>,
) -> HmaResult<Json<Value>> {
    let bank = managed_bank(&state, &caller, &name, unknown_bank(&name)).await?;
    let Some(content) = bank_item(&state, &bank, id).await? else {
        return Ok(Json(json!({"deleted": 0})));
    };
    state
        .store
        .remove_content(&caller.actor(), content.id)
        .await?;
    state.caught_up().await;
    Ok(Json(json!({"deleted": 1})))
}

/// Enables the items whose `disable_until_ts` has come; returns how many. Run by every
/// node's keeper: two nodes enabling one item at once both succeed.
pub async fn enable_due_content(store: &impl Store) -> ward_store::Result<usize> {
    let due = store.content_due(Timestamp::now(), DUE_BATCH).await?;
    let actor = Actor::operator("disable_until_ts");
    for id in &due {
        let mut notes = store.content_notes(*id).await?;
        notes.disabled_until = None;
        match store.set_content_enabled(&actor, *id, true).await {
            Ok(()) => store.set_content_notes(&actor, *id, &notes).await?,
            // Removed meanwhile: its notes go (clearing needs no live item).
            Err(ward_store::StoreError::NotFound { .. }) => {
                store
                    .set_content_notes(&actor, *id, &ContentNotes::default())
                    .await?;
            }
            Err(error) => return Err(error),
        }
    }
    Ok(due.len())
}
