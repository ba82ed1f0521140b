//! `GET /v1/feed`: the changes to the banks an organisation may see, in the store's total
//! order, a page at a time, with a cursor that resumes exactly where the last page ended.
//!
//! The feed is the store's index feed ([`Store::signal_changes`]) seen content by content:
//! every change to a content item (added, enabled, disabled, assessed, given an opinion,
//! removed, its bank deleted) gives all its signals new consecutive seqs, so an item is one
//! run of the feed, and a page never ends inside one. An entry says what the item is now:
//! `upsert` with its signals, label, categories and provenance while it is active, or
//! `delete` (a tombstone) once it is disabled, removed or its bank deleted. The cursor is the
//! last seq a page covered (entries of banks the caller may not see are skipped, not held
//! back), so nothing is skipped or repeated when writes happen while a client pages: a later
//! change to an item delivered already is a new entry, further on.
//!
//! A change to a bank's sharing gives its live items new seqs (recorded as the bank's
//! `reshared` range): an organisation that may see the bank now reads them as upserts, and
//! one that may not reads the items in that range as tombstones (without the bank's name),
//! so that a bank shared with it before is withdrawn from it.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderName;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use ward_store::{Bank, BankId, ContentId, Role, Seq, SignalChange, Store};

use super::SharedState;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::view;

/// Entries a page holds by default, and at most.
const DEFAULT_LIMIT: u32 = 1000;
const MAX_LIMIT: u32 = 10_000;

#[derive(Debug, Deserialize)]
pub struct FeedRequest {
    /// Where the last page ended (its `cursor`); from the beginning when absent.
    cursor: Option<String>,
    limit: Option<u32>,
}

/// `GET /v1/instance` (public): this instance's identity, for partners to pin.
pub async fn instance(State(state): State<SharedState>) -> Json<Value> {
    Json(json!({
        "software": "ward",
        "version": env!("CARGO_PKG_VERSION"),
        "public_key": state.identity.public_key(),
        "signature": {"algorithm": "ed25519", "header": crate::sync::SIGNATURE_HEADER},
    }))
}

/// `GET /v1/feed?cursor=...&limit=...` for curators and analysts (and admins):
/// `{"instance": KEY, "org": ID, "after": CURSOR, "entries": [...], "cursor": "...",
/// "more": bool}`, signed by this instance over the exact body (see [`crate::sync`]).
pub async fn feed(
    State(state): State<SharedState>,
    caller: Caller,
    Query(request): Query<FeedRequest>,
) -> ApiResult<Response> {
    caller.require(&[Role::Curator, Role::Analyst])?;
    let after = match request.cursor.as_deref() {
        None | Some("") => Seq(0),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Seq)
            .ok_or_else(|| ApiError::bad_request(format!("not a feed cursor: {text:?}")))?,
    };
    let limit = request.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let mut page = page(&state, &caller, after, limit).await?;
    state
        .store
        .record_read(&caller.actor(), "read.feed", &format!("seq:{}", after.0))
        .await?;
    // What the page answers, under the signature: a page cannot be replayed for another
    // cursor, organisation or instance.
    let fields = page.as_object_mut().expect("an object");
    fields.insert("instance".into(), json!(state.identity.public_key()));
    fields.insert("org".into(), json!(caller.org()));
    fields.insert(
        "after".into(),
        json!(request.cursor.as_deref().unwrap_or_default()),
    );
    let body = serde_json::to_vec(&page).map_err(|e| ApiError::internal(e.to_string()))?;
    let signature = state.identity.sign(&body);
    Ok((
        [
            (CONTENT_TYPE, "application/json".to_owned()),
            (
                HeaderName::from_static(crate::sync::SIGNATURE_HEADER),
                signature,
            ),
        ],
        body,
    )
        .into_response())
}

/// One page of the feed after `after`.
pub async fn page(
    state: &SharedState,
    caller: &Caller,
    after: Seq,
    limit: u32,
) -> ApiResult<Value> {
    // An item has few signals: a page of `limit` changes with room for the last item's.
    let slack = 64;
    let changes = state.store.signal_changes(after, limit + slack).await?;
    // Whether the store may have more: then the last item read may go on after the page.
    let full = changes.len() == (limit + slack) as usize;
    let runs = runs(&changes, limit as usize, full);
    let cursor = runs.last().map_or(after, |run| run[run.len() - 1].seq);

    let banks: HashMap<BankId, Bank> = state
        .store
        .banks()
        .await?
        .into_iter()
        .map(|b| (b.id, b))
        .collect();
    // What the caller reads of each run: the item itself, a tombstone, or nothing.
    let reading = |run: &[SignalChange]| -> Reading {
        let seq = run[run.len() - 1].seq;
        match banks.get(&run[0].bank) {
            // A deleted bank is not listed: its items are tombstones, without their signals.
            None => Reading::Tombstone,
            Some(bank) if caller.sees(bank) => Reading::Item,
            // Given new seqs when the bank's sharing last changed: whatever the caller was
            // given of it before is withdrawn.
            Some(bank) if bank.reshared.0 < seq && seq <= bank.reshared.1 => Reading::Tombstone,
            Some(_) => Reading::Nothing,
        }
    };
    let runs: Vec<(&[SignalChange], Reading)> = runs
        .into_iter()
        .map(|run| (run, reading(run)))
        .filter(|(_, reading)| *reading != Reading::Nothing)
        .collect();
    let live: Vec<ContentId> = runs
        .iter()
        .filter(|(run, reading)| *reading == Reading::Item && run.iter().any(|c| c.active))
        .map(|(run, _)| run[0].content)
        .collect();
    let contents: HashMap<ContentId, ward_store::Content> = state
        .store
        .contents(&live)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();

    let entries: Vec<Value> = runs
        .iter()
        .map(|(run, reading)| {
            let first = &run[0];
            let seq = run[run.len() - 1].seq;
            // The name of a bank the caller no longer sees is not told.
            let bank = banks.get(&first.bank).filter(|b| caller.sees(b));
            let bank_view = json!({"id": first.bank, "name": bank.map(|b| b.name.as_str())});
            match contents.get(&first.content) {
                Some(content) if *reading == Reading::Item && run.iter().any(|c| c.active) => {
                    let signals: Vec<Value> = run
                        .iter()
                        .filter(|c| c.active)
                        .map(|c| json!({"signal_type": c.kind.name(), "signal": c.value}))
                        .collect();
                    let mut entry = view::exchange(content);
                    let fields = entry.as_object_mut().expect("an object");
                    fields.insert("seq".into(), json!(seq.0.to_string()));
                    fields.insert("op".into(), json!("upsert"));
                    fields.insert("content_id".into(), json!(first.content));
                    fields.insert("bank".into(), bank_view);
                    fields.insert("signals".into(), json!(signals));
                    entry
                }
                // Inactive, or removed since this page's changes were read (a later entry
                // says so too).
                _ => json!({
                    "seq": seq.0.to_string(),
                    "op": "delete",
                    "content_id": first.content,
                    "bank": bank_view,
                }),
            }
        })
        .collect();
    Ok(json!({
        "entries": entries,
        "cursor": cursor.0.to_string(),
        "more": full,
    }))
}

/// What a caller reads of one content item's run of changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reading {
    /// The item as it is now (an upsert, or a tombstone once it is inactive).
    Item,
    /// A tombstone only.
    Tombstone,
    /// Nothing: the caller may not see the bank.
    Nothing,
}

/// Splits changes into runs of one content item each. When more changes follow the ones
/// read (`full`), the page ends with the last run that ends within `limit` changes, so that
/// no item is cut; a single run longer than that is taken whole.
fn runs(changes: &[SignalChange], limit: usize, full: bool) -> Vec<&[SignalChange]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=changes.len() {
        if i == changes.len() || changes[i].content != changes[start].content {
            runs.push(&changes[start..i]);
            start = i;
        }
    }
    if full {
        // The last run may go on in changes not read.
        if runs.len() > 1 {
            runs.pop();
        }
        let mut taken = 0;
        let keep = runs
            .iter()
            .take_while(|run| {
                taken += run.len();
                taken <= limit
            })
            .count();
        runs.truncate(keep.max(1));
    }
    runs
}

#[cfg(test)]
mod tests {
    use ward_store::{SignalId, SignalKind};

    use super::*;

    fn change(seq: i64, content: i64) -> SignalChange {
        SignalChange {
            seq: Seq(seq),
            signal: SignalId(seq),
            content: ContentId(content),
            bank: BankId(1),
            kind: SignalKind::Md5,
            value: String::new(),
            active: true,
            summary_group: None,
        }
    }

    #[test]
    fn pages_end_between_items() {
        // Contents 1 (2 signals), 2 (3), 3 (1), 4 (2).
        let changes: Vec<SignalChange> = [1, 1, 2, 2, 2, 3, 4, 4]
            .iter()
            .zip(1..)
            .map(|(content, seq)| change(seq, *content))
            .collect();
        let contents = |runs: Vec<&[SignalChange]>| -> Vec<(i64, usize)> {
            runs.iter().map(|r| (r[0].content.0, r.len())).collect()
        };
        // Everything read, and the store has no more: every run.
        assert_eq!(
            contents(runs(&changes, 8, false)),
            [(1, 2), (2, 3), (3, 1), (4, 2)]
        );
        // More may follow: the last run is dropped, and the rest cut at the limit.
        assert_eq!(contents(runs(&changes, 8, true)), [(1, 2), (2, 3), (3, 1)]);
        assert_eq!(contents(runs(&changes, 4, true)), [(1, 2)]);
        assert_eq!(contents(runs(&changes, 5, true)), [(1, 2), (2, 3)]);
        // A run longer than the limit is taken whole, even when it is all there is.
        assert_eq!(contents(runs(&changes, 1, true)), [(1, 2)]);
        assert_eq!(contents(runs(&changes[..2], 1, true)), [(1, 2)]);
        assert!(runs(&[], 10, false).is_empty());
    }
}
