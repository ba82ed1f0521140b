//! The `/v1` API for curators, analysts and auditors: banks, their content and signals (one
//! by one or streamed in bulk), assessments, opinions, and the audit log.

use std::io::{self, BufReader, Read};
use std::str::FromStr;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header::CONTENT_TYPE};
use bytes::Bytes;
use futures_util::StreamExt as _;
use serde::Deserialize;
use serde_json::{Value, json};
use ward_core::categories::{Activity, AgeGroup, Assessment};
use ward_core::exchange::{MAX_RECORD, read_line};
use ward_core::lists::{Hex64, ListError, ListReader, Signal, SignalType};
use ward_store::{
    AuditQuery, Bank, BankId, BankKind, BankUpdate, Content, ContentId, ImportChange, NewBank,
    NewContent, OpinionKind, OrgId, Ratio, Role, Sharing, SignalKind, Store, rules,
};

use super::SharedState;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::view;

/// Content items added per transaction by a bulk import.
const IMPORT_BATCH: usize = 5_000;
/// Malformed lines listed in a bulk import's answer (the rest are counted).
const IMPORT_ERRORS_SHOWN: usize = 100;

/// Roles that may read bank content.
pub(crate) const READERS: &[Role] = &[Role::Curator, Role::Analyst];

pub async fn list_banks(
    State(state): State<SharedState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let banks: Vec<Value> = state
        .store
        .banks()
        .await?
        .iter()
        .filter(|b| caller.sees(b))
        .map(|b| bank_view(&caller, b))
        .collect();
    Ok(Json(json!({ "banks": banks })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankRequest {
    name: String,
    /// Admins may create a bank for another organisation.
    org: Option<i64>,
    kind: Option<String>,
    distance: Option<u32>,
    enabled: Option<bool>,
    /// The share of lookups in which the bank takes part (0 to 1; 1 by default).
    enabled_ratio: Option<f64>,
    sharing: Option<String>,
    /// With sharing `organisations`: the organisations (ids) it is shared with.
    shared_with: Option<Vec<i64>>,
    /// How many organisations' disputes disable an item (none: never).
    dispute_limit: Option<u32>,
    description: Option<String>,
}

pub async fn create_bank(
    State(state): State<SharedState>,
    caller: Caller,
    Json(request): Json<BankRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(&[Role::Curator])?;
    let org = match request.org {
        Some(org) if caller.role() == Role::Admin => OrgId(org),
        Some(org) if org != caller.org().0 => {
            return Err(ApiError::forbidden(
                "a curator creates banks for its own organisation",
            ));
        }
        _ => caller.org(),
    };
    let bank = NewBank {
        name: request.name,
        org,
        kind: parse_or(request.kind.as_deref(), BankKind::Standard)?,
        distance: request.distance.unwrap_or(31),
        enabled: request.enabled.unwrap_or(true),
        sharing: parse_or(request.sharing.as_deref(), Sharing::Private)?,
        shared_with: orgs(request.shared_with.unwrap_or_default()),
        dispute_limit: request.dispute_limit,
        description: request.description.unwrap_or_default(),
    };
    let ratio = request.enabled_ratio.map(Ratio::new).transpose()?;
    let mut bank = state.store.create_bank(&caller.actor(), &bank).await?;
    if let Some(ratio) = ratio.filter(|r| *r != Ratio::ONE) {
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
    Ok((StatusCode::CREATED, Json(view::bank(&bank))))
}

/// A bank as the caller may read it: whom else it is shared with is its managers' business.
fn bank_view(caller: &Caller, bank: &Bank) -> Value {
    let mut view = view::bank(bank);
    if !caller.manages(bank) {
        view.as_object_mut()
            .expect("an object")
            .remove("shared_with");
    }
    view
}

/// A bank the caller may see, else 404 (not 403: a private bank's existence is not told).
pub async fn visible_bank(state: &SharedState, caller: &Caller, id: i64) -> ApiResult<Bank> {
    match state.store.bank(BankId(id)).await? {
        Some(bank) if caller.sees(&bank) => Ok(bank),
        _ => Err(ApiError::not_found(format!("bank {id} not found"))),
    }
}

/// A bank the caller may change, else 404 or 403.
pub(super) async fn managed_bank(state: &SharedState, caller: &Caller, id: i64) -> ApiResult<Bank> {
    caller.require(&[Role::Curator])?;
    let bank = visible_bank(state, caller, id).await?;
    if !caller.manages(&bank) {
        return Err(ApiError::forbidden(
            "only the owning organisation's curators change a bank",
        ));
    }
    Ok(bank)
}

pub async fn get_bank(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let bank = visible_bank(&state, &caller, id).await?;
    Ok(Json(bank_view(&caller, &bank)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankPatch {
    name: Option<String>,
    distance: Option<u32>,
    enabled: Option<bool>,
    enabled_ratio: Option<f64>,
    sharing: Option<String>,
    shared_with: Option<Vec<i64>>,
    /// A number sets the dispute limit, `null` turns the policy off.
    #[serde(default, deserialize_with = "present")]
    dispute_limit: Option<Option<u32>>,
    description: Option<String>,
}

fn orgs(ids: Vec<i64>) -> Vec<OrgId> {
    ids.into_iter().map(OrgId).collect()
}

pub async fn update_bank(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(patch): Json<BankPatch>,
) -> ApiResult<Json<Value>> {
    let bank = managed_bank(&state, &caller, id).await?;
    let update = BankUpdate {
        name: patch.name,
        distance: patch.distance,
        enabled: patch.enabled,
        enabled_ratio: patch.enabled_ratio.map(Ratio::new).transpose()?,
        sharing: patch
            .sharing
            .as_deref()
            .map(Sharing::from_str)
            .transpose()?,
        shared_with: patch.shared_with.map(orgs),
        dispute_limit: patch.dispute_limit,
        description: patch.description,
    };
    let bank = state
        .store
        .update_bank(&caller.actor(), bank.id, &update)
        .await?;
    state.caught_up().await;
    Ok(Json(view::bank(&bank)))
}

pub async fn delete_bank(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let bank = managed_bank(&state, &caller, id).await?;
    state.store.delete_bank(&caller.actor(), bank.id).await?;
    state.caught_up().await;
    Ok(StatusCode::NO_CONTENT)
}

/// Content items a label search reads per request at most (then it answers `next_after`
/// to go on from).
pub(crate) const LABEL_SCAN: u32 = 10_000;
/// Content items a search by hash answers at most.
const HASH_HITS: usize = 1_000;

#[derive(Debug, Default, Deserialize)]
pub struct Page {
    pub(crate) after: Option<i64>,
    pub(crate) limit: Option<u32>,
    /// With `signal`: search the bank for this signal (`pdq`, `md5`, `sha1`, `sha256`)
    /// among its active signals, as the match index holds them.
    pub(crate) signal_type: Option<String>,
    pub(crate) signal: Option<String>,
    /// For PDQ: how far from `signal` (0 to 255; 0, exact, by default).
    pub(crate) distance: Option<u32>,
    /// Items whose list label, list fields, provenance source or external id contain this
    /// text (case-insensitive).
    pub(crate) label: Option<String>,
}

pub async fn list_content(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(page): Query<Page>,
) -> ApiResult<Json<Value>> {
    caller.require(READERS)?;
    let bank = visible_bank(&state, &caller, id).await?;
    let limit = page.limit.unwrap_or(100).clamp(1, 1000);
    let (answer, next) = match (given(&page.signal), given(&page.label)) {
        (Some(signal), _) => {
            let signal_type = given(&page.signal_type).unwrap_or("pdq");
            (
                content_with_signal(&state, bank.id, signal_type, signal, page.distance).await?,
                None,
            )
        }
        (None, Some(label)) => labelled_content(&state, bank.id, label, page.after, limit).await?,
        (None, None) => {
            let items = state
                .store
                .bank_contents(bank.id, page.after.map(ContentId), limit)
                .await?;
            let next = (items.len() == limit as usize).then(|| items.last().map(|c| c.id.0));
            (items.iter().map(view::content).collect(), next.flatten())
        }
    };
    state
        .store
        .record_read(
            &caller.actor(),
            "read.bank_content",
            &format!("bank:{}", bank.id),
        )
        .await?;
    Ok(Json(json!({ "content": answer, "next_after": next })))
}

/// A query parameter's text, unless empty.
fn given(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

/// The bank's items with an active signal equal to `signal` (within `distance` for PDQ),
/// nearest first, each with the distance it was found at.
async fn content_with_signal(
    state: &SharedState,
    bank: BankId,
    signal_type: &str,
    signal: &str,
    distance: Option<u32>,
) -> ApiResult<Vec<Value>> {
    let signal_type = SignalType::from_str(&signal_type.to_ascii_lowercase())?;
    let distance = match (signal_type, distance) {
        (SignalType::Vpdq, _) => {
            return Err(ApiError::bad_request(
                "search by a pdq, md5, sha1 or sha256 signal (videos are matched, not searched)",
            ));
        }
        (SignalType::Pdq, Some(d)) if d > 255 => {
            return Err(ApiError::bad_request("a PDQ distance is 0 to 255"));
        }
        (SignalType::Pdq, d) => d.unwrap_or(0),
        (_, Some(d)) if d > 0 => {
            return Err(ApiError::bad_request(
                "digests are searched exactly: distance is for PDQ",
            ));
        }
        _ => 0,
    };
    let signal = Signal::parse(signal_type, &signal.to_ascii_lowercase())?;
    let hits = state.index.search(
        &signal,
        distance,
        &ward_core::video::CompareOptions::default(),
    );
    let mut found: Vec<(ContentId, u32)> = Vec::new();
    for hit in hits.iter().filter(|h| h.located.bank == bank) {
        if !found.iter().any(|(c, _)| *c == hit.located.content) {
            found.push((hit.located.content, hit.distance.unwrap_or(0)));
        }
    }
    found.truncate(HASH_HITS);
    let ids: Vec<ContentId> = found.iter().map(|(c, _)| *c).collect();
    let items = state.store.contents(&ids).await?;
    Ok(found
        .iter()
        .filter_map(|(id, distance)| {
            let item = items.iter().find(|c| c.id == *id)?;
            let mut view = view::content(item);
            view["distance"] = json!(distance);
            Some(view)
        })
        .collect())
}

/// Whether a content item carries `needle` (lower-case) in what a person would call its
/// label: the list's label, the list's other fields, its provenance source, its id in the
/// list it came from.
fn carries_label(content: &Content, needle: &str) -> bool {
    let has = |text: &str| text.to_lowercase().contains(needle);
    content.label.as_ref().is_some_and(|l| has(&l.label))
        || content.attributes.iter().any(|(_, value)| has(value))
        || has(&content.provenance.source)
        || content.external_id.as_deref().is_some_and(has)
}

/// The bank's items after `after` that carry `label`, at most `limit`, reading at most
/// [`LABEL_SCAN`] items; `next_after` is where to go on from when it stopped before the
/// bank's end.
async fn labelled_content(
    state: &SharedState,
    bank: BankId,
    label: &str,
    after: Option<i64>,
    limit: u32,
) -> ApiResult<(Vec<Value>, Option<i64>)> {
    let needle = label.to_lowercase();
    let mut after = after.map(ContentId);
    let mut found = Vec::new();
    let mut read = 0;
    while read < LABEL_SCAN {
        let page = state.store.bank_contents(bank, after, 1_000).await?;
        let Some(last) = page.last() else {
            return Ok((found, None));
        };
        let full = page.len() == 1_000;
        for content in &page {
            read += 1;
            if carries_label(content, &needle) {
                found.push(view::content(content));
                if found.len() == limit as usize {
                    return Ok((found, Some(content.id.0)));
                }
            }
        }
        after = Some(last.id);
        if !full {
            return Ok((found, None));
        }
    }
    Ok((found, after.map(|a| a.0)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalRequest {
    pub signal_type: String,
    pub signal: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoriesRequest {
    age_group: String,
    activity: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentRequest {
    signals: Vec<SignalRequest>,
    categories: Option<CategoriesRequest>,
    source: Option<String>,
}

pub async fn add_content(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(request): Json<ContentRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let bank = managed_bank(&state, &caller, id).await?;
    if request.signals.is_empty() {
        return Err(ApiError::bad_request(
            "a content item needs at least one signal",
        ));
    }
    let signals = request
        .signals
        .iter()
        .map(|s| stored_signal(&s.signal_type, &s.signal))
        .collect::<ApiResult<Vec<_>>>()?;
    let item = NewContent {
        signals,
        assessment: request.categories.as_ref().map(assessment).transpose()?,
        source: request.source.unwrap_or_else(|| "api".into()),
        ..NewContent::default()
    };
    let ids = state
        .store
        .add_content(&caller.actor(), bank.id, std::slice::from_ref(&item))
        .await?;
    state.caught_up().await;
    Ok((
        StatusCode::CREATED,
        Json(content_view(&state, &caller, ids[0]).await?),
    ))
}

/// A signal as the store keeps it: parsed and printed again by ward-core (canonical lower-case
/// hex, vPDQ JSON), or PhotoDNA kept as given.
pub fn stored_signal(signal_type: &str, value: &str) -> ApiResult<ward_store::Signal> {
    let value = value.trim();
    if signal_type.trim().eq_ignore_ascii_case("photodna") {
        if value.is_empty() || value.len() > rules::PHOTODNA_MAX {
            return Err(ApiError::bad_request(format!(
                "a photodna signal is 1 to {} characters",
                rules::PHOTODNA_MAX
            )));
        }
        return Ok(ward_store::Signal {
            kind: SignalKind::Photodna,
            value: value.to_string(),
        });
    }
    let signal_type = SignalType::from_str(signal_type)?;
    let signal = Signal::parse(signal_type, &value.to_ascii_lowercase())
        .or_else(|_| Signal::parse(signal_type, value))?;
    Ok(store_signal(&signal))
}

/// A parsed signal in the store's terms.
pub fn store_signal(signal: &Signal) -> ward_store::Signal {
    let kind = match signal.signal_type() {
        SignalType::Pdq => SignalKind::Pdq,
        SignalType::Md5 => SignalKind::Md5,
        SignalType::Sha1 => SignalKind::Sha1,
        SignalType::Sha256 => SignalKind::Sha256,
        SignalType::Vpdq => SignalKind::Vpdq,
    };
    ward_store::Signal {
        kind,
        value: signal.to_string(),
    }
}

fn assessment(request: &CategoriesRequest) -> ApiResult<Assessment> {
    Ok(Assessment {
        age_group: AgeGroup::from_str(&request.age_group)?,
        activity: Activity::from_str(&request.activity)?,
    })
}

fn parse_or<T: FromStr<Err = ward_store::StoreError>>(
    text: Option<&str>,
    default: T,
) -> ApiResult<T> {
    Ok(text.map(T::from_str).transpose()?.unwrap_or(default))
}

/// A content item the caller may see, with its bank.
pub(super) async fn visible_content(
    state: &SharedState,
    caller: &Caller,
    id: i64,
) -> ApiResult<(Content, Bank)> {
    let missing = || ApiError::not_found(format!("content {id} not found"));
    let content = state
        .store
        .content(ContentId(id))
        .await?
        .ok_or_else(missing)?;
    match state.store.bank(content.bank).await? {
        Some(bank) if caller.sees(&bank) => Ok((content, bank)),
        _ => Err(missing()),
    }
}

pub async fn get_content(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    caller.require(READERS)?;
    let (content, _) = visible_content(&state, &caller, id).await?;
    state
        .store
        .record_read(&caller.actor(), "read.content", &format!("content:{id}"))
        .await?;
    Ok(Json(content_view(&state, &caller, content.id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentPatch {
    enabled: Option<bool>,
    /// `null` clears the assessment; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    categories: Option<Option<CategoriesRequest>>,
}

/// Tells an explicit `null` (`Some(None)`) from an absent field (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

pub async fn update_content(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(patch): Json<ContentPatch>,
) -> ApiResult<Json<Value>> {
    caller.require(&[Role::Curator, Role::Analyst])?;
    let (content, bank) = visible_content(&state, &caller, id).await?;
    let actor = caller.actor();
    if let Some(enabled) = patch.enabled {
        if !caller.manages(&bank) {
            return Err(ApiError::forbidden(
                "only the owning organisation's curators enable or disable content",
            ));
        }
        state
            .store
            .set_content_enabled(&actor, content.id, enabled)
            .await?;
        state.content_changed(content.id).await;
    }
    if let Some(categories) = patch.categories {
        // Grading is the analysts' work, and the owners'.
        if !(caller.manages(&bank) || (caller.role() == Role::Analyst && bank.org == caller.org()))
        {
            return Err(ApiError::forbidden(
                "only the owning organisation's analysts and curators assess content",
            ));
        }
        let assessment = categories.as_ref().map(assessment).transpose()?;
        state
            .store
            .set_assessment(&actor, content.id, assessment)
            .await?;
        state.content_changed(content.id).await;
    }
    Ok(Json(content_view(&state, &caller, content.id).await?))
}

/// A content item as it now is, rendered (after a change to it).
/// A content item as the API shows it, with the feedback given to its exchange when the
/// caller reads it ([`super::auth::Member::reads_feedback`]).
async fn content_view(state: &SharedState, caller: &Caller, id: ContentId) -> ApiResult<Value> {
    let content = state
        .store
        .content(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("content {id} not found")))?;
    let mut view = view::content(&content);
    let bank = state.store.bank(content.bank).await?;
    if bank.is_some_and(|b| caller.member().reads_feedback(&b)) {
        let feedback = state.store.content_feedback(id).await?;
        view["feedback"] = Value::Array(feedback.iter().map(view::feedback).collect());
    }
    Ok(view)
}

pub async fn remove_content(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    caller.require(&[Role::Curator])?;
    let (content, bank) = visible_content(&state, &caller, id).await?;
    if !caller.manages(&bank) {
        return Err(ApiError::forbidden(
            "only the owning organisation's curators remove content",
        ));
    }
    state
        .store
        .remove_content(&caller.actor(), content.id)
        .await?;
    state.content_changed(content.id).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpinionRequest {
    /// `confirm`, `dispute`, or `null` to withdraw.
    opinion: Option<String>,
}

pub async fn set_opinion(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(request): Json<OpinionRequest>,
) -> ApiResult<Json<Value>> {
    caller.require(&[Role::Analyst, Role::Curator])?;
    let (content, _) = visible_content(&state, &caller, id).await?;
    let opinion = request
        .opinion
        .as_deref()
        .map(OpinionKind::from_str)
        .transpose()?;
    state
        .store
        .set_opinion(&caller.actor(), content.id, caller.org(), opinion)
        .await?;
    state.content_changed(content.id).await;
    Ok(Json(content_view(&state, &caller, content.id).await?))
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditRequest {
    pub(crate) after: Option<i64>,
    /// Only events with a smaller id (the next page of `order=newest`).
    pub(crate) before: Option<i64>,
    pub(crate) target: Option<String>,
    /// Only events whose actor begins with this (`user:ali`, `key:`).
    pub(crate) actor: Option<String>,
    /// Only events whose action begins with this (`exchange.`, `contact.set`).
    pub(crate) action: Option<String>,
    /// The first day (`YYYY-MM-DD`, UTC).
    pub(crate) from: Option<String>,
    /// The last day (`YYYY-MM-DD`, UTC), included.
    pub(crate) to: Option<String>,
    /// `oldest` (the default) or `newest` first.
    pub(crate) order: Option<String>,
    pub(crate) limit: Option<u32>,
}

impl AuditRequest {
    /// The store's query of this request, in `scope`; 400 for a day or an order that is not
    /// one.
    pub(crate) fn query(&self, scope: ward_store::AuditScope) -> ApiResult<AuditQuery> {
        let day = |text: &str| {
            ward_store::Timestamp::of_day(text)
                .ok_or_else(|| ApiError::bad_request(format!("not a day (YYYY-MM-DD): {text:?}")))
        };
        let filled = |text: &Option<String>| text.clone().filter(|t| !t.is_empty());
        let newest_first = match self.order.as_deref() {
            None | Some("" | "oldest") => false,
            Some("newest") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "order is oldest or newest, not {other:?}"
                )));
            }
        };
        const DAY: i64 = 86_400_000;
        Ok(AuditQuery {
            scope,
            after: self.after,
            before: self.before,
            target: filled(&self.target),
            actor: filled(&self.actor),
            action: filled(&self.action),
            since: filled(&self.from).map(|d| day(&d)).transpose()?,
            until: filled(&self.to)
                .map(|d| day(&d).map(|t| ward_store::Timestamp(t.0 + DAY)))
                .transpose()?,
            newest_first,
            limit: self.limit.unwrap_or(100).clamp(1, 10_000),
        })
    }
}

/// `GET /v1/audit`: the events the caller's organisation's members made and those about
/// what it owns; every event for admins and the deployment operator's auditors; searched
/// by actor, action, target and days, oldest or newest first.
pub async fn audit_log(
    State(state): State<SharedState>,
    caller: Caller,
    Query(request): Query<AuditRequest>,
) -> ApiResult<Json<Value>> {
    caller.require(&[Role::Auditor])?;
    let query = request.query(caller.member().audit_scope(&state.store).await?)?;
    let events = state.store.audit_log(&query).await?;
    let events: Vec<Value> = events.iter().map(view::audit_event).collect();
    Ok(Json(json!({ "events": events })))
}

/// `POST /v1/banks/{id}/signals`: streams a list into a bank, one content item per signal.
/// CSV (with a `signal_type,signal` header) or plain hashes, as `ward match` reads lists; or
/// JSON lines (`{"signal_type": "pdq", "signal": "..."}`) with `Content-Type:
/// application/x-ndjson`. Items are committed in batches as they arrive: what the answer
/// counts as added is stored, and a failure stops at the last whole batch. A signal the bank
/// holds already as an item without an external id is not added again (`unchanged`), so a
/// list sent twice, or sent again after an interruption, adds nothing twice.
pub async fn import_signals(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    let bank = managed_bank(&state, &caller, id).await?;
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/csv")
        .to_ascii_lowercase();
    let json_lines = content_type.contains("ndjson") || content_type.contains("jsonl");
    let source = headers
        .get("x-ward-source")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(rules::SOURCE_MAX).collect::<String>())
        .unwrap_or_else(|| "api:import".into());

    // The body is read here and parsed on a blocking thread, a chunk at a time.
    let (body, feeder) = body_reader(body);
    let runtime = tokio::runtime::Handle::current();
    let actor = caller.actor();
    let worker_state = state.clone();
    let report = tokio::task::spawn_blocking(move || {
        let reader = BufReader::with_capacity(256 << 10, body);
        let import = Import::new(&runtime, &worker_state, &actor, bank.id, source);
        if json_lines {
            import.json_lines(reader)
        } else {
            import.list(reader)
        }
    })
    .await
    .map_err(|e| ApiError::internal(format!("import task failed: {e}")))?;
    feeder.abort();
    state.caught_up().await;
    report.map(Json)
}

/// A bulk import in progress.
struct Import<'a> {
    runtime: &'a tokio::runtime::Handle,
    state: &'a SharedState,
    actor: &'a ward_store::Actor,
    bank: BankId,
    source: String,
    batch: Vec<ImportChange>,
    added: u64,
    unchanged: u64,
    malformed: u64,
    errors: Vec<Value>,
}

impl<'a> Import<'a> {
    fn new(
        runtime: &'a tokio::runtime::Handle,
        state: &'a SharedState,
        actor: &'a ward_store::Actor,
        bank: BankId,
        source: String,
    ) -> Import<'a> {
        Import {
            runtime,
            state,
            actor,
            bank,
            source,
            batch: Vec::with_capacity(IMPORT_BATCH),
            added: 0,
            unchanged: 0,
            malformed: 0,
            errors: Vec::new(),
        }
    }

    fn list(mut self, reader: impl io::BufRead) -> ApiResult<Value> {
        for entry in ListReader::new(reader, Hex64::Pdq) {
            match entry {
                Ok(entry) => self.push(store_signal(&entry.signal))?,
                Err(ListError::Malformed { line, reason }) => self.malformed(line, reason),
                Err(error) => return self.fail(ApiError::bad_request(error.to_string())),
            }
        }
        self.finish()
    }

    /// JSON lines, each held only up to the record bound (`MAX_RECORD`, 16 MiB): a longer
    /// line is read past, and reported, without being kept.
    fn json_lines(mut self, mut reader: impl io::BufRead) -> ApiResult<Value> {
        #[derive(Deserialize)]
        struct Line {
            signal_type: String,
            signal: String,
        }
        let mut line = Vec::new();
        let mut number = 0;
        loop {
            number += 1;
            let kept = match read_line(&mut reader, &mut line) {
                Ok(None) => break,
                Ok(Some(kept)) => kept,
                Err(error) => {
                    return self.fail(ApiError::bad_request(format!("line {number}: {error}")));
                }
            };
            if !kept {
                self.malformed(number, format!("longer than {} MiB", MAX_RECORD >> 20));
                continue;
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let parsed = serde_json::from_slice::<Line>(&line)
                .map_err(|e| e.to_string())
                .and_then(|l| stored_signal(&l.signal_type, &l.signal).map_err(|e| e.message));
            match parsed {
                Ok(signal) => self.push(signal)?,
                Err(reason) => self.malformed(number, reason),
            }
        }
        self.finish()
    }

    fn push(&mut self, signal: ward_store::Signal) -> ApiResult<()> {
        self.batch.push(ImportChange::Upsert(NewContent {
            signals: vec![signal],
            assessment: None,
            source: self.source.clone(),
            ..NewContent::default()
        }));
        if self.batch.len() >= IMPORT_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> ApiResult<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let store = &self.state.store;
        let added = self.added;
        let counts = self
            .runtime
            .block_on(store.import_content(self.actor, self.bank, &self.batch))
            .map_err(|error| {
                // What was committed before stays; say how much, so the client can resume.
                let mut error = ApiError::from(error);
                error.message = format!("{} ({added} items were added before)", error.message);
                error
            })?;
        self.added += counts.added;
        self.unchanged += counts.unchanged;
        self.batch.clear();
        Ok(())
    }

    fn malformed(&mut self, line: u64, reason: String) {
        self.malformed += 1;
        if self.errors.len() < IMPORT_ERRORS_SHOWN {
            self.errors.push(json!({"line": line, "reason": reason}));
        }
    }

    /// Stops on an unreadable body, saying how much was stored before.
    fn fail(self, mut error: ApiError) -> ApiResult<Value> {
        error.message = format!("{} ({} items were added before)", error.message, self.added);
        Err(error)
    }

    fn finish(mut self) -> ApiResult<Value> {
        self.flush()?;
        Ok(json!({
            "added": self.added,
            "unchanged": self.unchanged,
            "malformed": self.malformed,
            "errors": self.errors,
        }))
    }
}

/// A request body as a blocking [`BodyReader`] for a parser on a blocking thread, and the
/// task that feeds it the body's chunks as they arrive (to abort once the parser is done).
pub(super) fn body_reader(body: Body) -> (BodyReader, tokio::task::JoinHandle<()>) {
    let (chunks, receiver) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(8);
    let mut stream = body.into_data_stream();
    let feeder = tokio::spawn(async move {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(io::Error::other);
            if chunks.send(chunk).await.is_err() {
                break;
            }
        }
    });
    (BodyReader::new(receiver), feeder)
}

/// The request body as a blocking `Read`, fed chunk by chunk from the async side.
pub(super) struct BodyReader {
    chunks: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl BodyReader {
    fn new(chunks: tokio::sync::mpsc::Receiver<io::Result<Bytes>>) -> BodyReader {
        BodyReader {
            chunks,
            current: Bytes::new(),
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk?,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}
