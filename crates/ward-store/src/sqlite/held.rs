//! Which plain items a SQLite bank holds, for imports: *here is a plain entry's key, which
//! live item of the bank without an external id has it?* Blocks keep their items' digests in
//! blobs that no index reaches, so the keys of a bank's items (block items and rows alike)
//! are kept in memory while imports into it go on, and forgotten a minute after the last.
//!
//! The memory is a hash per item (a SipHash of its key with this process's random keys, so
//! that no list can be made to collide) and its content id, 20 to 35 bytes an item (35 MB
//! for a bank of a million); a hash found is checked against the item's stored key or digest
//! before it counts, so the answer is exact. It is brought up to date at the start of every import batch, inside the batch's
//! write transaction: blocks added since (blocks never change), and rows whose signals took
//! a seq since (every change to a row moves its seqs), so changes by other processes count.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sqlx::SqliteConnection;

use crate::error::Result;
use crate::import::{ByHash, Held, HeldRow, PlainKey, SAID_COLUMNS, plain_hash, text_hash};
use crate::model::BankId;

use super::database;

/// How long a bank's keys stay in memory after its last import batch.
const IDLE: Duration = Duration::from_secs(60);

/// The keys of the banks being imported into, shared by the clones of a store.
#[derive(Clone, Debug, Default)]
pub(super) struct HeldKeys {
    inner: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    banks: Mutex<Banks>,
}

#[derive(Debug, Default)]
struct Banks {
    keys: HashMap<BankId, BankKeys>,
    /// A task forgets them when idle.
    watched: bool,
}

impl HeldKeys {
    /// The keys of `bank` as far as they were read (empty the first time), taken out until
    /// [`HeldKeys::put`] gives them back: the caller holds the write lock meanwhile.
    pub fn take(&self, bank: BankId) -> BankKeys {
        let mut banks = self.inner.banks.lock().expect("lock");
        banks.keys.retain(|_, keys| keys.used.elapsed() < IDLE);
        banks.keys.remove(&bank).unwrap_or_default()
    }

    /// Gives the keys back after a batch was committed.
    pub fn put(&self, bank: BankId, mut keys: BankKeys) {
        keys.used = Instant::now();
        let mut banks = self.inner.banks.lock().expect("lock");
        banks.keys.insert(bank, keys);
        if !banks.watched {
            banks.watched = forget_when_idle(Arc::downgrade(&self.inner));
        }
    }
}

/// Starts a task that forgets the banks' keys once no import has used them for [`IDLE`],
/// and ends when none is left; false without a runtime to run it (they are then forgotten
/// at the next import instead).
fn forget_when_idle(shared: Weak<Shared>) -> bool {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return false;
    };
    runtime.spawn(async move {
        loop {
            tokio::time::sleep(IDLE / 2).await;
            let Some(shared) = shared.upgrade() else {
                return;
            };
            let mut banks = shared.banks.lock().expect("lock");
            banks.keys.retain(|_, keys| keys.used.elapsed() < IDLE);
            if banks.keys.is_empty() {
                banks.watched = false;
                return;
            }
        }
    });
    true
}

/// One bank's plain items by the hash of their key.
#[derive(Debug)]
pub(super) struct BankKeys {
    /// Whether anything was read yet.
    loaded: bool,
    /// Rows were read as of this seq.
    seq: i64,
    /// Blocks were read up to this block id.
    last_block: i64,
    /// The first item with each hash.
    first: ByHash<u64, i64>,
    /// Further items with a hash already in `first` (the same signals added twice before
    /// plain items were keyed, or another key with the same hash).
    more: ByHash<u64, Vec<i64>>,
    /// The items that are rows (those of blocks have no row, or one that shadows them),
    /// with their hash.
    rows: HashMap<i64, u64>,
    /// The bank's blocks by first content id: `(first content id, count, block id)`.
    blocks: Vec<(i64, i64, i64)>,
    used: Instant,
}

impl Default for BankKeys {
    fn default() -> BankKeys {
        BankKeys {
            loaded: false,
            seq: 0,
            last_block: 0,
            first: ByHash::default(),
            more: ByHash::default(),
            rows: HashMap::new(),
            blocks: Vec::new(),
            used: Instant::now(),
        }
    }
}

/// A block added by an import batch: its id, its first content id, and the hash of each
/// item's key.
pub(super) struct AddedBlock {
    pub id: i64,
    pub first_content: i64,
    pub hashes: Vec<u64>,
}

impl BankKeys {
    /// Reads what changed since the last read (everything, the first time): blocks added,
    /// rows changed. In the batch's write transaction.
    pub async fn catch_up(&mut self, conn: &mut SqliteConnection, bank: BankId) -> Result<()> {
        let seq = super::last_seq(conn).await?;
        let mut hex = [0u8; 64];
        loop {
            // One block at a time: a block's digests are up to a few megabytes.
            let block: Option<(i64, i64, i64, String, i64, Vec<u8>)> = sqlx::query_as(
                "SELECT id, first_content, count, kind, digest_len, digests FROM content_blocks \
                 WHERE bank_id = $1 AND id > $2 ORDER BY id LIMIT 1",
            )
            .bind(bank.0)
            .bind(self.last_block)
            .fetch_optional(&mut *conn)
            .await
            .map_err(database)?;
            let Some((id, first, count, kind, len, digests)) = block else {
                break;
            };
            let len = usize::try_from(len).unwrap_or(1).max(1);
            for (digest, content) in digests.chunks_exact(len).zip(first..) {
                self.add(plain_hash(&kind, hex_of(digest, &mut hex)), content);
            }
            self.blocks.push((first, count, id));
            self.last_block = id;
        }
        self.blocks.sort_unstable();
        // Rows: all of the bank's the first time, then those whose signals moved since.
        let rows: Vec<(i64, String, bool)> = if self.loaded {
            // CROSS JOIN keeps signals (by seq) the outer loop: SQLite's planner, without
            // statistics, otherwise reads every item of the bank to find the few that
            // moved (0.2 s a batch at 1M items, against under a millisecond).
            sqlx::query_as(
                "SELECT DISTINCT c.id, c.plain_key, c.removed_at IS NULL FROM signals s \
                 CROSS JOIN content c ON c.id = s.content_id \
                 WHERE s.seq > $1 AND c.bank_id = $2 AND c.plain_key IS NOT NULL",
            )
            .bind(self.seq)
            .bind(bank.0)
        } else {
            sqlx::query_as(
                "SELECT id, plain_key, removed_at IS NULL FROM content \
                 WHERE bank_id = $1 AND plain_key IS NOT NULL",
            )
            .bind(bank.0)
        }
        .fetch_all(&mut *conn)
        .await
        .map_err(database)?;
        for (id, key, live) in rows {
            if key.is_empty() {
                continue; // an item without signals, which no entry names
            }
            let hash = text_hash(&key);
            if live {
                // A row that shadows a block item is listed under the same key already.
                if self.rows.insert(id, hash).is_none() && !self.has(hash, id) {
                    self.add(hash, id);
                }
            } else {
                self.rows.remove(&id);
                self.remove(hash, id);
            }
        }
        self.seq = seq;
        self.loaded = true;
        Ok(())
    }

    /// The bank's live items without an external id that these plain keys name, each
    /// checked against what is stored: the oldest for each key (`None` for no key).
    pub async fn find(
        &self,
        conn: &mut SqliteConnection,
        keys: &[Option<PlainKey<'_>>],
    ) -> Result<Vec<Option<Held>>> {
        let mut found: Vec<Option<Held>> = vec![None; keys.len()];
        // Candidates, each with the keys it may have: rows are checked against their stored
        // key, block items against their digest.
        let mut rows: HashMap<i64, Vec<usize>> = HashMap::new();
        let mut in_blocks: Vec<(i64, usize)> = Vec::new();
        for (at, key) in keys.iter().enumerate() {
            let Some(key) = key else { continue };
            let Some(&first) = self.first.get(&key.hash()) else {
                continue;
            };
            let more = self.more.get(&key.hash()).map(Vec::as_slice);
            for &id in std::iter::once(&first).chain(more.unwrap_or_default()) {
                if self.rows.contains_key(&id) {
                    rows.entry(id).or_default().push(at);
                } else {
                    in_blocks.push((id, at));
                }
            }
        }
        let mut keep = |at: usize, held: Held| {
            if found[at].as_ref().is_none_or(|other| held.id < other.id) {
                found[at] = Some(held);
            }
        };
        if !rows.is_empty() {
            let ids = super::id_list(rows.keys().copied());
            let stored: Vec<HeldRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT id, plain_key, {SAID_COLUMNS} FROM content \
                 WHERE id IN (SELECT value FROM json_each($1)) AND removed_at IS NULL"
            )))
            .bind(&ids)
            .fetch_all(&mut *conn)
            .await
            .map_err(database)?;
            for row in stored {
                let (stored_key, held) = Held::of_row(row);
                for &at in rows.get(&held.id).map(Vec::as_slice).unwrap_or_default() {
                    if keys[at].as_ref().is_some_and(|key| key.is(&stored_key)) {
                        keep(at, held.clone());
                    }
                }
            }
        }
        // Block items, a read of each block's digests in the range asked for.
        in_blocks.sort_unstable();
        let mut next = 0;
        while next < in_blocks.len() {
            let id = in_blocks[next].0;
            let Some(&(first, count, block)) = self.block_of(id) else {
                next += 1;
                continue;
            };
            let end = in_blocks[next..]
                .iter()
                .position(|(id, _)| *id >= first + count)
                .map_or(in_blocks.len(), |n| next + n);
            let here = &in_blocks[next..end];
            let (lo, hi) = (here[0].0 - first, here[here.len() - 1].0 - first);
            let (kind, len, digests): (String, i64, Vec<u8>) = sqlx::query_as(
                "SELECT kind, digest_len, substr(digests, $2 * digest_len + 1, \
                 ($3 - $2 + 1) * digest_len) FROM content_blocks WHERE id = $1",
            )
            .bind(block)
            .bind(lo)
            .bind(hi)
            .fetch_one(&mut *conn)
            .await
            .map_err(database)?;
            let len = usize::try_from(len).unwrap_or(1).max(1);
            for &(id, at) in here {
                let from = usize::try_from(id - first - lo).unwrap_or(usize::MAX);
                let digest = digests.get(from * len..(from + 1) * len);
                let is = |key: &PlainKey| digest.is_some_and(|d| key.is_digest(&kind, d));
                if keys[at].as_ref().is_some_and(is) {
                    let held = Held {
                        id,
                        said: Default::default(),
                        in_block: true,
                    };
                    keep(at, held);
                }
            }
            next = end;
        }
        Ok(found)
    }

    /// After a batch's commit: the blocks it added (its rows are read at the next catch-up).
    pub fn added(&mut self, blocks: Vec<AddedBlock>) {
        let items = blocks.iter().map(|b| b.hashes.len()).sum();
        self.first.reserve(items);
        for block in blocks {
            self.blocks
                .push((block.first_content, block.hashes.len() as i64, block.id));
            for (hash, id) in block.hashes.into_iter().zip(block.first_content..) {
                self.add(hash, id);
            }
            self.last_block = self.last_block.max(block.id);
        }
        self.blocks.sort_unstable();
    }

    /// The block whose items' ids include `id`.
    fn block_of(&self, id: i64) -> Option<&(i64, i64, i64)> {
        let after = self.blocks.partition_point(|(first, _, _)| *first <= id);
        self.blocks[..after]
            .last()
            .filter(|(first, count, _)| id < first + count)
    }

    fn has(&self, hash: u64, id: i64) -> bool {
        self.first.get(&hash) == Some(&id)
            || self.more.get(&hash).is_some_and(|more| more.contains(&id))
    }

    fn add(&mut self, hash: u64, id: i64) {
        if let Some(&first) = self.first.get(&hash) {
            let more = self.more.entry(hash).or_default();
            if first != id && !more.contains(&id) {
                more.push(id);
            }
            if more.is_empty() {
                self.more.remove(&hash);
            }
        } else {
            self.first.insert(hash, id);
        }
    }

    fn remove(&mut self, hash: u64, id: i64) {
        if self.first.get(&hash) == Some(&id) {
            match self.more.get_mut(&hash).and_then(Vec::pop) {
                Some(next) => {
                    self.first.insert(hash, next);
                }
                None => {
                    self.first.remove(&hash);
                }
            }
        } else if let Some(more) = self.more.get_mut(&hash) {
            more.retain(|other| *other != id);
        }
        if self.more.get(&hash).is_some_and(Vec::is_empty) {
            self.more.remove(&hash);
        }
    }

    /// How many items are kept (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.first.len() + self.more.values().map(Vec::len).sum::<usize>()
    }
}

/// A digest in lower-case hex, written into `buffer` (up to 32 bytes).
fn hex_of<'b>(digest: &[u8], buffer: &'b mut [u8; 64]) -> &'b str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = &digest[..digest.len().min(32)];
    for (byte, pair) in digest.iter().zip(buffer.chunks_exact_mut(2)) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 15)];
    }
    std::str::from_utf8(&buffer[..2 * digest.len()]).unwrap_or_default()
}

/// Ids given as a set, for tests.
#[cfg(test)]
fn ids(keys: &BankKeys, hash: u64) -> std::collections::HashSet<i64> {
    let mut ids: std::collections::HashSet<i64> = keys
        .more
        .get(&hash)
        .into_iter()
        .flatten()
        .copied()
        .collect();
    ids.extend(keys.first.get(&hash));
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_items_hash_as_their_plain_keys() {
        let mut buffer = [0u8; 64];
        assert_eq!(hex_of(&[0x01, 0xab, 0xff], &mut buffer), "01abff");
        let key = crate::import::plain_key([("md5", "01abff")]).unwrap();
        assert_eq!(
            plain_hash("md5", hex_of(&[0x01, 0xab, 0xff], &mut buffer)),
            text_hash(&key)
        );
    }

    #[test]
    fn items_come_and_go_under_their_hash() {
        let mut keys = BankKeys::default();
        keys.add(7, 1);
        keys.add(7, 2);
        keys.add(7, 2); // once each
        keys.add(8, 3);
        assert_eq!(ids(&keys, 7), [1, 2].into());
        assert_eq!(keys.len(), 3);
        keys.remove(7, 1);
        assert_eq!(ids(&keys, 7), [2].into());
        assert!(keys.has(7, 2) && !keys.has(7, 1));
        keys.remove(7, 2);
        assert!(ids(&keys, 7).is_empty());
        assert!(!keys.first.contains_key(&7) && !keys.more.contains_key(&7));
        keys.remove(9, 1); // not there: nothing
        assert_eq!(keys.len(), 1);
    }

    #[test]
    fn block_items_are_found_by_their_id() {
        let mut keys = BankKeys::default();
        keys.added(vec![
            AddedBlock {
                id: 5,
                first_content: 100,
                hashes: vec![1, 2, 3],
            },
            AddedBlock {
                id: 2,
                first_content: 10,
                hashes: vec![4, 5],
            },
        ]);
        assert_eq!(keys.last_block, 5);
        let check = |id: i64, expected: Option<i64>| {
            assert_eq!(keys.block_of(id).map(|b| b.2), expected, "{id}")
        };
        check(9, None);
        check(10, Some(2));
        check(11, Some(2));
        check(12, None);
        check(100, Some(5));
        check(102, Some(5));
        check(103, None);
        assert_eq!(ids(&keys, 3), [102].into());
    }
}
