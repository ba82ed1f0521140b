//! The nodes serving a deployment: each reports itself about once a minute (its match
//! index's state) and the console lists those seen lately; the same SQL in both backends
//! (`nodes_methods!()` inside each `impl Store`).

use serde::Serialize;

use crate::model::Timestamp;

/// Reports older than this are dropped by the next report.
pub const NODE_FORGOTTEN_AFTER_MS: i64 = 7 * 86_400_000;

/// The longest node id and host name kept (longer ones are cut).
pub const MAX_NODE_TEXT: usize = 200;

/// A node as it last reported itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Node {
    /// Unique to one run of one node (made at its start).
    pub id: String,
    /// The machine's name.
    pub host: String,
    /// Ward's version.
    pub version: String,
    pub started_at: Timestamp,
    /// When it last reported itself.
    pub seen_at: Timestamp,
    /// Whether its match index is loaded.
    pub index_ready: bool,
    /// The store's feed position its index has applied.
    pub index_seq: i64,
    /// The signals its index holds.
    pub index_signals: i64,
    /// When its index last read the feed to its end.
    pub caught_up_at: Timestamp,
}

/// Cuts a text to [`MAX_NODE_TEXT`] bytes, at a character's boundary.
pub(crate) fn bounded(text: &str) -> &str {
    let mut end = text.len().min(MAX_NODE_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The methods, written once for both backends.
macro_rules! nodes_methods {
    () => {
        async fn note_node(&self, node: &Node) -> Result<()> {
            let mut tx = self.write().await?;
            sqlx::query(
                "INSERT INTO nodes (id, host, version, started_at, seen_at, index_ready, \
                 index_seq, index_signals, caught_up_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO UPDATE SET \
                 seen_at = excluded.seen_at, index_ready = excluded.index_ready, \
                 index_seq = excluded.index_seq, index_signals = excluded.index_signals, \
                 caught_up_at = excluded.caught_up_at",
            )
            .bind(crate::nodes::bounded(&node.id))
            .bind(crate::nodes::bounded(&node.host))
            .bind(crate::nodes::bounded(&node.version))
            .bind(node.started_at.0)
            .bind(node.seen_at.0)
            .bind(node.index_ready)
            .bind(node.index_seq)
            .bind(node.index_signals)
            .bind(node.caught_up_at.0)
            .execute(&mut *tx)
            .await
            .map_err(database)?;
            sqlx::query("DELETE FROM nodes WHERE seen_at < $1")
                .bind(node.seen_at.0 - crate::nodes::NODE_FORGOTTEN_AFTER_MS)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            tx.commit().await.map_err(database)?;
            Ok(())
        }

        async fn nodes(&self, since: Timestamp) -> Result<Vec<Node>> {
            let rows: Vec<(String, String, String, i64, i64, bool, i64, i64, i64)> =
                sqlx::query_as(
                    "SELECT id, host, version, started_at, seen_at, index_ready, index_seq, \
                     index_signals, caught_up_at FROM nodes WHERE seen_at >= $1 \
                     ORDER BY seen_at DESC, id",
                )
                .bind(since.0)
                .fetch_all(self.reads())
                .await
                .map_err(database)?;
            Ok(rows
                .into_iter()
                .map(
                    |(id, host, version, started, seen, ready, seq, signals, caught_up)| Node {
                        id,
                        host,
                        version,
                        started_at: Timestamp(started),
                        seen_at: Timestamp(seen),
                        index_ready: ready,
                        index_seq: seq,
                        index_signals: signals,
                        caught_up_at: Timestamp(caught_up),
                    },
                )
                .collect())
        }
    };
}
pub(crate) use nodes_methods;
