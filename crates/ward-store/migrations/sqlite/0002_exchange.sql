-- Hash sharing: what exchanged lists say about their items, and (SQLite only) the blocks
-- that hold content added in bulk. The PostgreSQL migration of the same name adds the same
-- content columns.

-- The list's own id of an item (VICS MediaID, NCMEC's id, a partner's content id), on which
-- later imports' upserts and tombstones are keyed; the category label as the list gives it
-- (never turned into facts or another scheme's label); the list's other fields, as a JSON
-- object of strings.
ALTER TABLE content ADD COLUMN external_id TEXT;
ALTER TABLE content ADD COLUMN label_scheme TEXT;
ALTER TABLE content ADD COLUMN label_profile TEXT;
ALTER TABLE content ADD COLUMN label TEXT;
ALTER TABLE content ADD COLUMN attributes TEXT;
CREATE UNIQUE INDEX content_external ON content (bank_id, external_id)
    WHERE external_id IS NOT NULL AND removed_at IS NULL;

-- Content added in bulk with nothing of its own (one fixed-length hash; no assessment,
-- label, external id or attributes) is kept as blocks: one row per run of items with
-- consecutive content ids, signal ids and seqs, their digests packed into one blob. Writing
-- a row per hash costs SQLite a few microseconds; a block costs it a copy. When an item of
-- a block is changed (disabled, removed, assessed, given an opinion) it gets content and
-- signals rows of its own, with the same ids and a new seq, and those rows take precedence
-- over its place in the block from then on ("shadow" it). Rows are never deleted.
CREATE TABLE content_blocks (
    id            INTEGER PRIMARY KEY,
    bank_id       INTEGER NOT NULL REFERENCES banks (id),
    first_content INTEGER NOT NULL,
    first_signal  INTEGER NOT NULL,
    first_seq     INTEGER NOT NULL,
    count         INTEGER NOT NULL CHECK (count > 0),
    kind          TEXT    NOT NULL,
    digest_len    INTEGER NOT NULL CHECK (digest_len > 0),
    digests       BLOB    NOT NULL CHECK (length(digests) = count * digest_len),
    added_by      TEXT    NOT NULL,
    added_by_key  INTEGER,
    added_by_org  INTEGER,
    source        TEXT    NOT NULL,
    added_at      INTEGER NOT NULL
);
CREATE INDEX content_blocks_content ON content_blocks (first_content);
CREATE INDEX content_blocks_bank ON content_blocks (bank_id, first_content);
CREATE INDEX content_blocks_seq ON content_blocks (first_seq);
