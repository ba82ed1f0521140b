-- Plain items are keyed by their signals, and revocations of API keys are a feed. The SQLite
-- migration of the same name does the same.

-- The key of an item without an external id within its bank: its signals as `kind:value`,
-- sorted, one a line (the SHA-256 of that text when it is long; see `import.rs`). An import's
-- entry without an external id changes the bank's live item with the same key rather than
-- adding another, so a list imported twice adds nothing the second time. NULL for items with
-- an external id. Items stored before this migration are given their key when the store is
-- opened (`content_unkeyed` finds them, and is empty from then on).
ALTER TABLE content ADD COLUMN plain_key TEXT;
CREATE INDEX content_plain ON content (bank_id, plain_key)
    WHERE plain_key IS NOT NULL AND removed_at IS NULL;
CREATE INDEX content_unkeyed ON content (id) WHERE plain_key IS NULL AND external_id IS NULL;

-- Every revocation of an API key, in the order made (revocations lock the table, so they
-- commit in `seq` order): each node reads those after the last it read as often as it reads
-- the index feed, and forgets the keys named.
CREATE TABLE key_revocations (
    seq    BIGINT PRIMARY KEY,
    key_id BIGINT NOT NULL REFERENCES api_keys (id),
    at     BIGINT NOT NULL
);
