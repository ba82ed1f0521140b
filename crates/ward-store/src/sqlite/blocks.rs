//! Content blocks (SQLite only): content added in bulk with nothing of its own, kept as one
//! row per run of items with their digests packed into a blob, and the reads that treat a
//! block's items as if each had its own content and signal rows.
//!
//! An item of a block is "shadowed" once it has a content row of its own (with the same id):
//! from then on the row is the truth and the block's place for it is ignored. `materialise`
//! gives an item its rows before any change to it, so blocks themselves never change except
//! for their seqs when their bank is deleted or its sharing changes.

use std::collections::HashSet;

use sqlx::SqliteConnection;
use ward_core::digest::{decode_hex_into, to_hex};

use super::database;
use crate::error::Result;
use crate::model::*;

/// The shortest run of plain items stored as a block: shorter runs (one item added through
/// the API) take rows, so that blocks stay few.
pub(super) const MIN_BLOCK: usize = 16;

/// The longest run stored as one block (longer runs make several). SQLite reads a whole
/// blob to take a slice of it, so reading one item costs its block's size: at 1,024 items,
/// 32 KiB for PDQ, where a block of a whole import batch (65,536) cost 2 MiB a read.
pub(super) const MAX_BLOCK: usize = 1024;

/// A run of plain items to store as a block.
#[derive(Debug)]
pub(super) struct NewBlock {
    pub first_content: i64,
    pub first_signal: i64,
    pub first_seq: i64,
    pub kind: SignalKind,
    pub digest_len: usize,
    pub digests: Vec<u8>,
    pub count: usize,
}

/// The digest of a plain item (one fixed-length hash and nothing else of its own): its
/// kind, and its bytes at the start of the array with their length.
pub(super) fn plain_digest(item: &NewContent) -> Option<(SignalKind, [u8; 32], usize)> {
    let [signal] = item.signals.as_slice() else {
        return None;
    };
    if item.assessment.is_some()
        || item.external_id.is_some()
        || item.label.is_some()
        || !item.attributes.is_empty()
    {
        return None;
    }
    let len = match signal.kind {
        SignalKind::Md5 => 16,
        SignalKind::Sha1 => 20,
        SignalKind::Pdq | SignalKind::Sha256 => 32,
        SignalKind::Vpdq | SignalKind::Photodna => return None,
    };
    let mut digest = [0u8; 32];
    // Lower case only (the canonical form), so that reading it back gives the same text.
    decode_hex_into(signal.value.as_bytes(), &mut digest[..len], true)?;
    Some((signal.kind, digest, len))
}

/// Stores a block; returns its id.
pub(super) async fn insert(
    conn: &mut SqliteConnection,
    actor: &Actor,
    bank: BankId,
    source: &str,
    now: Timestamp,
    block: &NewBlock,
) -> Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO content_blocks (bank_id, first_content, first_signal, first_seq, count, \
         kind, digest_len, digests, added_by, added_by_key, added_by_org, source, added_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(bank.0)
    .bind(block.first_content)
    .bind(block.first_signal)
    .bind(block.first_seq)
    .bind(block.count as i64)
    .bind(block.kind.name())
    .bind(block.digest_len as i64)
    .bind(&block.digests)
    .bind(&actor.label)
    .bind(actor.key.map(|k| k.0))
    .bind(actor.org.map(|o| o.0))
    .bind(source)
    .bind(now.0)
    .fetch_one(conn)
    .await
    .map_err(database)
}

/// The largest content id, signal id and seq that blocks hold (0 without blocks). Blocks
/// take their ids in order, and their seq ranges never overlap.
pub(super) async fn last_ids(conn: &mut SqliteConnection) -> Result<(i64, i64, i64)> {
    let (content, signal): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(MAX(first_content + count - 1), 0), \
         COALESCE(MAX(first_signal + count - 1), 0) FROM \
         (SELECT first_content, first_signal, count FROM content_blocks \
          ORDER BY first_content DESC LIMIT 1)",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(database)?;
    let seq: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(first_seq + count - 1), 0) FROM \
         (SELECT first_seq, count FROM content_blocks ORDER BY first_seq DESC LIMIT 1)",
    )
    .fetch_one(conn)
    .await
    .map_err(database)?;
    Ok((content, signal, seq))
}

/// One block item, read back.
#[derive(Debug)]
struct BlockItem {
    block: i64,
    content: i64,
    signal: i64,
    seq: i64,
    bank: i64,
    kind: SignalKind,
    value: String,
    provenance: Provenance,
    bank_live: bool,
}

/// `id, bank_id, first_content, first_signal, first_seq, count, kind, digest_len, digests
/// (a slice of them), added_by, added_by_key, added_by_org, source, added_at, bank live`,
/// and the index of the first item of the slice.
type BlockRow = (
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    String,
    i64,
    Vec<u8>,
    String,
    Option<i64>,
    Option<i64>,
    String,
    i64,
    bool,
    i64,
);

/// The columns of a `BlockRow`, with the digests from item `$from` on, at most `$take` of
/// them (`b` is the block, `k` its bank).
macro_rules! block_columns {
    ($from:literal, $take:literal) => {
        concat!(
            "b.id, b.bank_id, b.first_content, b.first_signal, b.first_seq, b.count, b.kind, \
             b.digest_len, substr(b.digests, (",
            $from,
            ") * b.digest_len + 1, (",
            $take,
            ") * b.digest_len), b.added_by, b.added_by_key, b.added_by_org, b.source, \
             b.added_at, k.deleted_at IS NULL, ",
            $from
        )
    };
}

fn items(row: BlockRow) -> Result<Vec<BlockItem>> {
    let (
        block,
        bank,
        first_content,
        first_signal,
        first_seq,
        _count,
        kind,
        digest_len,
        digests,
        added_by,
        key,
        org,
        source,
        added_at,
        bank_live,
        from,
    ) = row;
    let kind: SignalKind = kind.parse()?;
    let provenance = Provenance {
        added_by,
        added_by_key: key.map(KeyId),
        added_by_org: org.map(OrgId),
        source,
        added_at: Timestamp(added_at),
    };
    let len = usize::try_from(digest_len).unwrap_or(0).max(1);
    Ok(digests
        .chunks_exact(len)
        .zip(from..)
        .map(|(digest, i)| BlockItem {
            block,
            content: first_content + i,
            signal: first_signal + i,
            seq: first_seq + i,
            bank,
            kind,
            value: to_hex(digest),
            provenance: provenance.clone(),
            bank_live,
        })
        .collect())
}

/// The content ids between `first` and `last` that have rows of their own.
async fn shadowed(conn: &mut SqliteConnection, first: i64, last: i64) -> Result<HashSet<i64>> {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM content WHERE id BETWEEN $1 AND $2")
        .bind(first)
        .bind(last)
        .fetch_all(conn)
        .await
        .map_err(database)?;
    Ok(ids.into_iter().collect())
}

/// Whether a content id has rows of its own (the item is not, or no longer, only in a
/// block).
pub(super) async fn materialised(conn: &mut SqliteConnection, id: ContentId) -> Result<bool> {
    Ok(!shadowed(conn, id.0, id.0).await?.is_empty())
}

/// Drops the items that have rows of their own.
async fn unshadowed(conn: &mut SqliteConnection, items: Vec<BlockItem>) -> Result<Vec<BlockItem>> {
    let (Some(first), Some(last)) = (items.first(), items.last()) else {
        return Ok(items);
    };
    let shadowed = shadowed(conn, first.content, last.content).await?;
    Ok(items
        .into_iter()
        .filter(|item| !shadowed.contains(&item.content))
        .collect())
}

/// The block items after `after` in seq order, at most `limit`, as feed entries (active
/// unless their bank is deleted: an item changed in any other way has rows of its own).
pub(super) async fn changes_after(
    conn: &mut SqliteConnection,
    after: Seq,
    limit: u32,
) -> Result<Vec<SignalChange>> {
    let mut changes = Vec::new();
    let mut cursor = after.0;
    while changes.len() < limit as usize {
        let take = i64::from(limit) - changes.len() as i64;
        let row: Option<BlockRow> = sqlx::query_as(concat!(
            "SELECT ",
            block_columns!("MAX($1 - b.first_seq + 1, 0)", "$2"),
            " FROM content_blocks b JOIN banks k ON k.id = b.bank_id \
             WHERE b.first_seq + b.count - 1 > $1 ORDER BY b.first_seq LIMIT 1"
        ))
        .bind(cursor)
        .bind(take)
        .fetch_optional(&mut *conn)
        .await
        .map_err(database)?;
        let Some(row) = row else { break };
        let items = items(row)?;
        let Some(last) = items.last() else { break };
        cursor = last.seq;
        changes.extend(
            unshadowed(conn, items)
                .await?
                .into_iter()
                .map(|item| SignalChange {
                    seq: Seq(item.seq),
                    signal: SignalId(item.signal),
                    content: ContentId(item.content),
                    bank: BankId(item.bank),
                    kind: item.kind,
                    value: item.value,
                    active: item.bank_live,
                    summary_group: Some(item.block),
                }),
        );
    }
    Ok(changes)
}

fn content_of(item: BlockItem) -> Content {
    Content {
        id: ContentId(item.content),
        bank: BankId(item.bank),
        enabled: true,
        assessment: None,
        signals: vec![StoredSignal {
            id: SignalId(item.signal),
            kind: item.kind,
            value: item.value,
        }],
        provenance: item.provenance,
        opinions: Vec::new(),
        external_id: None,
        label: None,
        attributes: Vec::new(),
    }
}

/// The items of blocks with these ids (which must have no rows of their own).
pub(super) async fn contents(conn: &mut SqliteConnection, ids: &[i64]) -> Result<Vec<Content>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // One statement for every id: each finds the nearest block that starts at or before it
    // (an index search) and takes its one digest.
    let asked = format!(
        "[{}]",
        ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
    );
    let rows: Vec<BlockRow> = sqlx::query_as(concat!(
        "SELECT ",
        block_columns!("j.value - b.first_content", "1"),
        " FROM json_each($1) j \
         JOIN content_blocks b ON b.first_content = (SELECT MAX(c.first_content) \
           FROM content_blocks c WHERE c.first_content <= j.value) \
         JOIN banks k ON k.id = b.bank_id \
         WHERE j.value < b.first_content + b.count"
    ))
    .bind(asked)
    .fetch_all(&mut *conn)
    .await
    .map_err(database)?;
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        found.extend(items(row)?.into_iter().map(content_of));
    }
    Ok(found)
}

/// A bank's block items after content id `after`, by id, at most `limit`.
pub(super) async fn bank_contents(
    conn: &mut SqliteConnection,
    bank: BankId,
    after: i64,
    limit: u32,
) -> Result<Vec<Content>> {
    let mut found = Vec::new();
    let mut cursor = after;
    while found.len() < limit as usize {
        let take = i64::from(limit) - found.len() as i64;
        let row: Option<BlockRow> = sqlx::query_as(concat!(
            "SELECT ",
            block_columns!("MAX($2 - b.first_content + 1, 0)", "$3"),
            " FROM content_blocks b JOIN banks k ON k.id = b.bank_id \
             WHERE b.bank_id = $1 AND b.first_content + b.count - 1 > $2 \
             ORDER BY b.first_content LIMIT 1"
        ))
        .bind(bank.0)
        .bind(cursor)
        .bind(take)
        .fetch_optional(&mut *conn)
        .await
        .map_err(database)?;
        let Some(row) = row else { break };
        let items = items(row)?;
        let Some(last) = items.last() else { break };
        cursor = last.content;
        found.extend(unshadowed(conn, items).await?.into_iter().map(content_of));
    }
    Ok(found)
}

/// Gives a block item rows of its own (content enabled, its signal with the next seq), so
/// that it can be changed like any other; nothing when `id` has rows or is in no block.
/// In a write transaction.
pub(super) async fn materialise(conn: &mut SqliteConnection, id: ContentId) -> Result<()> {
    if materialised(conn, id).await? {
        return Ok(());
    }
    let Some(item) = contents(conn, &[id.0]).await?.pop() else {
        return Ok(());
    };
    let seq = super::last_seq(conn).await? + 1;
    let provenance = &item.provenance;
    let plain_key = crate::import::plain_key(
        item.signals
            .iter()
            .map(|s| (s.kind.name(), s.value.as_str())),
    );
    sqlx::query(
        "INSERT INTO content (id, bank_id, enabled, added_by, added_by_key, added_by_org, \
         source, added_at, plain_key) VALUES ($1, $2, TRUE, $3, $4, $5, $6, $7, $8)",
    )
    .bind(item.id.0)
    .bind(item.bank.0)
    .bind(&provenance.added_by)
    .bind(provenance.added_by_key.map(|k| k.0))
    .bind(provenance.added_by_org.map(|o| o.0))
    .bind(&provenance.source)
    .bind(provenance.added_at.0)
    .bind(plain_key)
    .execute(&mut *conn)
    .await
    .map_err(database)?;
    for signal in &item.signals {
        sqlx::query(
            "INSERT INTO signals (id, content_id, kind, value, seq) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(signal.id.0)
        .bind(item.id.0)
        .bind(signal.kind.name())
        .bind(&signal.value)
        .bind(seq)
        .execute(&mut *conn)
        .await
        .map_err(database)?;
    }
    Ok(())
}

/// Gives every item of a bank's blocks the next seqs after `last` (when the bank is
/// deleted, or its sharing changes); returns how many items that are not shadowed were changed.
pub(super) async fn resequence_bank(
    conn: &mut SqliteConnection,
    bank: BankId,
    last: i64,
) -> Result<u64> {
    sqlx::query(
        "UPDATE content_blocks SET first_seq = $2 + r.start + 1 \
         FROM (SELECT id, SUM(count) OVER (ORDER BY first_content) - count AS start \
               FROM content_blocks WHERE bank_id = $1) AS r \
         WHERE content_blocks.id = r.id",
    )
    .bind(bank.0)
    .bind(last)
    .execute(&mut *conn)
    .await
    .map_err(database)?;
    let (items, shadowed): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(count), 0), \
         (SELECT COUNT(*) FROM content c JOIN content_blocks b \
          ON c.id BETWEEN b.first_content AND b.first_content + b.count - 1 WHERE b.bank_id = $1) \
         FROM content_blocks WHERE bank_id = $1",
    )
    .bind(bank.0)
    .fetch_one(conn)
    .await
    .map_err(database)?;
    Ok(u64::try_from(items - shadowed).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(kind: SignalKind, value: &str) -> NewContent {
        NewContent {
            signals: vec![Signal {
                kind,
                value: value.to_owned(),
            }],
            source: "test".to_owned(),
            ..NewContent::default()
        }
    }

    #[test]
    fn plain_items_and_the_others() {
        let md5 = "0123456789abcdef0123456789abcdef";
        let (kind, digest, len) = plain_digest(&item(SignalKind::Md5, md5)).unwrap();
        assert_eq!(
            (kind, to_hex(&digest[..len])),
            (SignalKind::Md5, md5.to_owned())
        );
        let pdq = "f".repeat(64);
        assert_eq!(
            plain_digest(&item(SignalKind::Pdq, &pdq)).unwrap().1,
            [255; 32]
        );
        // Not canonical, the wrong length, not a hash, or something of its own: rows.
        for rejected in [
            item(SignalKind::Md5, &md5.to_uppercase()),
            item(SignalKind::Md5, &md5[..30]),
            item(SignalKind::Sha1, md5),
            item(SignalKind::Vpdq, "[]"),
            item(SignalKind::Photodna, md5),
            NewContent {
                external_id: Some("1".into()),
                ..item(SignalKind::Md5, md5)
            },
            NewContent {
                signals: vec![],
                ..item(SignalKind::Md5, md5)
            },
        ] {
            assert!(plain_digest(&rejected).is_none(), "{rejected:?}");
        }
    }
}
